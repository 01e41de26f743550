export * from './access-log';
export * from './aws-endpoints';
export * from './ports';
export * from './proxy-check';
export * from './proxy-env';
export * from './refused-hosts';
export * from './squid-config';
export * from './dns-firewall';
