/**
 * Where a local run's notifications go: what the deployed Notify would publish to SNS is appended to the
 * run's notifications.txt (and handed to the caller), and every publish is counted as an SNS request.
 */
import { appendFile } from 'node:fs/promises';
import type { Notification } from '../../functions/notify/message';
import type { NotificationPublisher } from '../../functions/notify/publisher';
import { recordCall } from '../../functions/shared/call-recorder';
import type { RunStats } from './stats';

/** A publisher that appends each notification, with its subject and attributes, to `file`. */
export function filePublisher(
  file: string,
  executionName: string,
  onNotification?: (notification: Notification) => void,
): NotificationPublisher {
  return {
    async publish(notification) {
      const attributes = Object.entries(notification.attributes)
        .map(([name, value]) => `${name}=${value.StringValue}`)
        .join(' ');
      await appendFile(
        file,
        `Subject: ${notification.subject}\nAttributes: ${attributes}\n\n${notification.body}\n---\n`,
      );
      onNotification?.(notification);
      // Deployed, this is Notify's sns:Publish to the deployment's topic: recorded as that call.
      recordCall({ identity: 'notify', service: 'sns', command: 'PublishCommand', input: {}, outcome: 'ok' });
      return { messageId: `local-${executionName}` };
    },
  };
}

/** Wraps a publisher so that each publish counts as one SNS request in the run's statistics. */
export function countingPublisher(publisher: NotificationPublisher, stats: RunStats): NotificationPublisher {
  return {
    async publish(notification) {
      stats.sns.publish++;
      return publisher.publish(notification);
    },
  };
}
