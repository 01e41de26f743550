// Imported first by the API tests: EMF and request logs would drown Jest's output. Tests that check
// log lines raise the level on the logger they observe.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
export {};
