/** The redactor lives in core (core/text/redaction.ts): the webhook function redacts CI logs with it too. */
export { REDACTED, Redactor } from '../core/text/redaction';
