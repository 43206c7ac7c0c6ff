export { smsConfigSchema, startSms, providerFromConfig, SMS_DURABLE, type SmsConfig, type SmsDeps } from './service';
export { render, loggedBody, templateParams, TemplateError, type SmsTemplate, type SmsLocale } from './templates';
export {
  createDevProvider,
  createHttpProvider,
  signRequest,
  SmsSendError,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type SmsProvider,
  type OutgoingSms,
} from './providers';
export { createSmsRateLimiter, rateDecision, type SmsRateLimits } from './rate-limit';
