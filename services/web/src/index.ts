export { webConfigSchema, startWeb, CONTENT_SECURITY_POLICY, type WebConfig } from './service';
