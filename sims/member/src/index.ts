export { startMemberFleet, type MemberAccount, type MemberFleet, type MemberFleetOptions } from './fleet';
export { provisionMembers, registerMembers, simulatedAccounts } from './provision';
export {
  applyPollReply,
  cookieHeader,
  keepCookies,
  nextPollDelay,
  pollHeaders,
  startOffset,
  memberAddress,
  isLoopbackTarget,
  type PollState,
  type PollOutcome,
} from './poll';
export { percentile, createStatsRecorder, type MemberFleetStats } from './stats';
