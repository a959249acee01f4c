import type { MutationResolvers } from '../generated/graphql';

export const Mutation: MutationResolvers = {
  register: (_parent, args, ctx) => ctx.auth.register(args, ctx),
  login: (_parent, args, ctx) => ctx.auth.login(args, ctx),
  refreshToken: (_parent, args, ctx) => ctx.auth.refresh(args.refreshToken, ctx),
  logout: (_parent, args, ctx) => ctx.auth.logout(args.refreshToken),
  changePassword: (_parent, args, ctx) => ctx.auth.changePassword(ctx.authorization, args, ctx),
  revokeSession: (_parent, args, ctx) => ctx.auth.revokeSession(ctx.authorization, args.id, ctx),
  logoutEverywhere: (_parent, _args, ctx) => ctx.auth.logoutEverywhere(ctx.authorization, ctx),
  deleteAccount: (_parent, args, ctx) => ctx.auth.deleteAccount(ctx.authorization, args.password, ctx),
};
