export {
  createNotifier,
  type DivergenceHistory,
  type NotifierDeps,
  type NotifierHandlers,
} from './app.ts';
export { DeliveryError, isPermanent, type NotificationChannel } from './channels/channel.ts';
export { emailMessage, type SesSend, sesChannel, smtpChannel } from './channels/email.ts';
export { logChannel } from './channels/log.ts';
export { slackChannel, slackMessage } from './channels/slack.ts';
export {
  DEFAULT_RETRY_DELAYS_MS,
  DEFAULT_ROUTING,
  isTimeZone,
  type NotifierConfig,
  type NotifierConfigInput,
  NotifierConfigSchema,
  notifierConfigFromEnv,
  parseNotifierConfig,
  ROUTABLE_CHANNELS,
} from './config.ts';
export {
  type ChannelResult,
  DELIVERY_OUTCOMES,
  type DeliveryCounter,
  DeliveryCounters,
  type DeliveryOutcome,
  InMemoryNotificationLedger,
  type NotificationLedger,
} from './delivery.ts';
export { maskNomesInText, maskNotification } from './masking.ts';
export {
  NOTIFICATION_SEVERITIES,
  type Notification,
  type NotificationKind,
  type NotificationSeverity,
} from './messages.ts';
