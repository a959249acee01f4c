export interface SlotLimits {
  /** Uploads streaming through the gateway at once, everyone's together (one subgraph socket each). */
  total: number;
  /** One user's at once. */
  perUser: number;
  /** One client address's at once (several accounts behind one address). */
  perIp: number;
}

/**
 * The pool of upload slots. An upload holds its slot, and with it a connection to the image
 * subgraph, for as long as the client takes to send the file; without per-user and per-address caps
 * one slow client could hold every slot and starve everyone else's uploads.
 */
export class UploadSlots {
  private total = 0;
  private readonly byUser = new Map<string, number>();
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: SlotLimits) {}

  get inUse(): number {
    return this.total;
  }

  /** A slot for this user and address, as a release function, or why there is none. */
  take(userId: string, ip: string): { release: () => void } | { refused: string } {
    if ((this.byUser.get(userId) ?? 0) >= this.limits.perUser) {
      return {
        refused: `You already have ${this.limits.perUser} uploads in progress; wait for one to finish`,
      };
    }
    if ((this.byIp.get(ip) ?? 0) >= this.limits.perIp) {
      return { refused: 'Too many uploads in progress from your address; wait for one to finish' };
    }
    if (this.total >= this.limits.total) {
      return { refused: 'The server is busy with other uploads, try again shortly' };
    }
    this.total++;
    bump(this.byUser, userId, 1);
    bump(this.byIp, ip, 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        bump(this.byUser, userId, -1);
        bump(this.byIp, ip, -1);
      },
    };
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
