import { api, type Image, urlExpiry } from '../api';
import { h, ICONS, icon } from '../dom';
import { generalMessage } from '../messages';

const PAGE_SIZE = 24;

/**
 * The grid of thumbnails, newest first, one cursor page at a time as the user scrolls. It outlives
 * a visit to a photo, so coming back keeps what was loaded and where the user was.
 */
export class Gallery {
  readonly element: HTMLElement;
  private readonly grid = h('ul', { class: 'grid', 'aria-label': 'Your photos' });
  private readonly status = h('p', { class: 'gallery-status', role: 'status' });
  private readonly count = h('p', { class: 'muted count' });
  private readonly more = h('button', { type: 'button', class: 'button ghost', hidden: true }, 'Load more');
  private readonly empty: HTMLElement;
  private readonly sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  private readonly tiles = new Map<string, HTMLLIElement>();
  private cursor: string | null = null;
  private hasNextPage = true;
  private loading = false;
  private total = 0;
  private scrollY = 0;

  constructor(chooseFiles: () => void) {
    this.more.addEventListener('click', () => void this.loadMore());
    this.empty = h(
      'div',
      { class: 'empty', hidden: true },
      h('div', { class: 'empty-art' }, icon(ICONS.photo)),
      h('h2', null, 'No photos yet'),
      h('p', { class: 'muted' }, 'Drag photos anywhere onto this page, or choose them from your device.'),
      h(
        'button',
        { type: 'button', class: 'button primary', onClick: chooseFiles },
        icon(ICONS.upload),
        'Choose photos',
      ),
    );
    this.element = h(
      'section',
      { class: 'gallery', 'aria-labelledby': 'gallery-title' },
      h('div', { class: 'page-head' }, h('h1', { id: 'gallery-title', tabIndex: -1 }, 'Photos'), this.count),
      this.empty,
      this.grid,
      this.status,
      this.more,
      this.sentinel,
    );
    // Loads the next page when the end of the grid comes near; the button is there for keyboards.
    new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) void this.loadMore();
      },
      { rootMargin: '600px' },
    ).observe(this.sentinel);
  }

  /** Remembers the scroll position before the user leaves for a photo, and restores it after. */
  leave(): void {
    this.scrollY = window.scrollY;
  }
  enter(): void {
    window.scrollTo(0, this.scrollY);
    if (this.tiles.size === 0 && this.hasNextPage) void this.loadMore();
  }

  async loadMore(): Promise<void> {
    if (this.loading || !this.hasNextPage || !this.element.isConnected) return;
    this.loading = true;
    this.status.textContent = 'Loading photos…';
    const { page, error } = await api.images(PAGE_SIZE, this.cursor);
    this.loading = false;
    if (!page) {
      this.status.textContent = error ? generalMessage(error) : '';
      // The same button tries again; it says so after a failure.
      this.more.textContent = 'Try again';
      this.more.hidden = false;
      return;
    }
    this.more.textContent = 'Load more';
    for (const image of page.images) this.add(image, 'end');
    this.cursor = page.endCursor;
    this.hasNextPage = page.hasNextPage;
    this.total = page.totalCount;
    this.status.textContent = this.hasNextPage ? '' : this.tiles.size > 0 ? 'That’s all your photos.' : '';
    this.more.hidden = !this.hasNextPage;
    this.render();
    // A tall screen may still show the sentinel: keep filling it.
    if (this.hasNextPage && this.sentinel.getBoundingClientRect().top < window.innerHeight + 600) {
      void this.loadMore();
    }
  }

  /** A fresh upload goes first: the grid is newest first. */
  added(image: Image): void {
    this.total++;
    this.add(image, 'start');
    this.render();
  }

  removed(id: string): void {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.remove();
    this.tiles.delete(id);
    this.total = Math.max(0, this.total - 1);
    this.render();
  }

  private render(): void {
    this.count.textContent = this.total ? `${this.total} photo${this.total === 1 ? '' : 's'}` : '';
    this.empty.hidden = this.total > 0 || this.loading || this.hasNextPage;
  }

  private add(image: Image, where: 'start' | 'end'): void {
    if (this.tiles.has(image.id)) return;
    const img = h('img', {
      src: image.thumbnailUrl,
      alt: image.filename,
      loading: 'lazy',
      decoding: 'async',
      width: 256,
      height: 256,
    });
    renewWhenExpired(img, image.id, 'thumbnailUrl');
    const tile = h(
      'li',
      null,
      h('a', { href: `#/photo/${encodeURIComponent(image.id)}`, class: 'tile' }, img),
    );
    this.tiles.set(image.id, tile);
    if (where === 'start') this.grid.prepend(tile);
    else this.grid.append(tile);
  }
}

/**
 * Signed URLs expire while the page stays open. An image that fails to load after its URL's
 * expiry asks the API for fresh URLs once and tries again.
 */
export function renewWhenExpired(img: HTMLImageElement, id: string, variant: 'url' | 'thumbnailUrl'): void {
  img.addEventListener('error', async () => {
    if (urlExpiry(img.src) > Date.now() / 1000 + 5) return;
    const { image } = await api.image(id);
    if (image && image[variant] !== img.src) img.src = image[variant];
  });
}
