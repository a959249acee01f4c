import type { AuthPayload } from '../auth/auth-service';
import type { Context } from '../context';

export const Mutation = {
  register(
    _parent: unknown,
    args: { name: string; email: string; password: string },
    ctx: Context,
  ): Promise<AuthPayload> {
    return ctx.auth.register(args, ctx);
  },

  login(_parent: unknown, args: { email: string; password: string }, ctx: Context): Promise<AuthPayload> {
    return ctx.auth.login(args, ctx);
  },

  refreshToken(_parent: unknown, args: { refreshToken: string }, ctx: Context): Promise<AuthPayload> {
    return ctx.auth.refresh(args.refreshToken, ctx);
  },

  logout(_parent: unknown, args: { refreshToken: string }, ctx: Context): Promise<boolean> {
    return ctx.auth.logout(args.refreshToken);
  },
};
