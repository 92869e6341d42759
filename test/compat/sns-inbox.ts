/**
 * What an SNS topic delivered, received the way a subscriber receives it: an HTTP subscription on a local
 * listener. moto delivers to HTTP subscribers inside Publish (a POST of the standard notification JSON),
 * so a message is here once Publish has returned. The suite read moto's own dump (/moto-api/data.json)
 * before; that endpoint reads every model instance moto ever created, deleted ones included, and answers
 * 500 for the whole server once a bucket with objects has been deleted (an object's status looks its
 * bucket up), which other compat files do: the result depended on the order the files ran in.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';

/** One notification as delivered: its subject and body. */
export interface DeliveredMessage {
  subject: string;
  body: string;
}

export interface SnsInbox {
  /** The notifications delivered so far, oldest first. */
  readonly messages: DeliveredMessage[];
  close(): Promise<void>;
}

/** Subscribes a local HTTP listener to `topicArn` and collects what the topic delivers to it. */
export async function subscribeInbox(sns: SNSClient, topicArn: string): Promise<SnsInbox> {
  const messages: DeliveredMessage[] = [];
  const listener: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const delivery = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Type?: string;
        Subject?: string;
        Message?: string;
      };
      if (delivery.Type === 'Notification') {
        messages.push({ subject: delivery.Subject ?? '', body: delivery.Message ?? '' });
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as AddressInfo;
  const { SubscriptionArn } = await sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `http://127.0.0.1:${port}/` }),
  );
  return {
    messages,
    async close() {
      if (SubscriptionArn) await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}
