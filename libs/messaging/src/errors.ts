/** Base of messaging errors; `retriable` says whether trying the same work again may succeed. */
export class MessagingError extends Error {
  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The event does not satisfy its contract (unknown type, wrong version, failing schema). */
export class ContractViolationError extends MessagingError {
  constructor(message: string, readonly issues: string[] = []) {
    super(issues.length ? `${message}: ${issues.join('; ')}` : message, false);
  }
}

/**
 * Thrown by a handler when retrying cannot help (the message is wrong, not the moment):
 * the message goes to the dead-letter topic at once.
 */
export class NonRetriableError extends MessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}
