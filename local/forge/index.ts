export { startForge, type ForgeServer, type ForgeRequest, type ForgeOptions } from './forge-server';
export {
  bareRepoPath,
  createBareRepoFromDirectory,
  branchHead,
  branchLog,
  defaultBranchOf,
  fileAt,
  protectBranch,
} from './forge-repositories';
export {
  createIssue,
  listPulls,
  getPull,
  listIssues,
  listComments,
  listCheckRuns,
  listReviews,
  listCiRuns,
  type ForgePull,
  type ForgeIssue,
  type ForgeCheckRun,
  type ForgeReview,
  type ForgeCiRun,
} from './forge-records';
export { issueForgeToken, verifyForgeToken } from './forge-tokens';
