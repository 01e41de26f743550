/**
 * Environment for the agent's tool processes: every common spelling of the proxy variables, so curl,
 * git, npm, pip, go and cargo all use it. NO_PROXY keeps the repo's own test servers on loopback direct.
 */
export function toolProxyEnv(proxyUrl: string): Record<string, string> {
  const url = new URL(proxyUrl);
  if (url.protocol !== 'http:' || !url.port) throw new Error(`proxy URL must be http://host:port, got ${JSON.stringify(proxyUrl)}`);
  const noProxy = 'localhost,127.0.0.1,::1';
  const proxy = `${url.protocol}//${url.host}`;
  return {
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    http_proxy: proxy,
    https_proxy: proxy,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    // Package managers that ignore the variables above.
    npm_config_proxy: proxy,
    npm_config_https_proxy: proxy,
  };
}
