export { authConfigSchema, startAuth, type AuthConfig, type AuthDeps } from './service';
export { ensureBootstrapAdmin } from './bootstrap';
