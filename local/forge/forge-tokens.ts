// The local forge verifies the tokens the token brokers issue in local mode; the format lives with its issuers.
export { issueForgeToken, verifyForgeToken, type ForgeTokenRecord } from '../../lambdas/github/forge-tokens';
