import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { installCallRecorder } from '../shared/call-recorder';
import type { Notification } from './message';

/** Where notifications go: SNS when deployed; the terminal and a file in a local run. */
export interface NotificationPublisher {
  publish(notification: Notification): Promise<{ messageId?: string }>;
}

/** Publishes to an SNS topic, with the notification's message attributes. */
export function snsPublisher(sns: SNSClient, topicArn: string): NotificationPublisher {
  return {
    async publish(notification) {
      const response = await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: notification.subject,
          Message: notification.body,
          MessageAttributes: notification.attributes,
        }),
      );
      return response.MessageId ? { messageId: response.MessageId } : {};
    },
  };
}

/** The SNS client Notify publishes with (its calls recorded when S3XCOPY_RECORD_CALLS is set). */
export function createSnsClient(): SNSClient {
  const client = new SNSClient({});
  installCallRecorder(client, 'sns');
  return client;
}
