import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';

/** The one logger of every Lambda: JSON lines with the service name and the Lambda context. */
export const logger = new Logger({ serviceName: 'lifecycle-lake' });

/**
 * Attaches the Lambda context (request id, function name, cold start) to every log line of one
 * invocation and clears that invocation's temporary keys afterwards, so keys such as `file` never
 * leak into the next event a warm container handles.
 */
export function withLambdaContext<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
): (event: TEvent, context: Context) => Promise<TResult> {
  return async (event, context) => {
    logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      logger.resetKeys();
    }
  };
}
