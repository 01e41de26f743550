import { egressSettingsFromEnv, type EgressSettings } from '../../../runner/egress/egress-settings';

/** Egress settings as local mode passes them to the runner: the proxy's base URL and its access log file. */
export function localEgressSettings(proxyBaseUrl: string, accessLog: string): EgressSettings {
  return egressSettingsFromEnv({ NIGHTSHIFT_PROXY_URL: proxyBaseUrl, NIGHTSHIFT_PROXY_ACCESS_LOG: accessLog })!;
}
