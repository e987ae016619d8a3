export { logChannel, type NotificationChannel, notifierHandlers } from './app.ts';
export type { Notification } from './messages.ts';
