/** The five services, their default ports and database names: one place for the whole repo. */
export const SERVICES = {
  'queue-gateway': { port: 3000, portVar: 'GATEWAY_PORT', database: 'gateway', topicPrefix: 'gateway' },
  'concert-catalog': { port: 3001, portVar: 'CATALOG_PORT', database: 'catalog', topicPrefix: 'catalog' },
  reservation: { port: 3002, portVar: 'RESERVATION_PORT', database: 'reservation', topicPrefix: 'reservation' },
  wallet: { port: 3003, portVar: 'WALLET_PORT', database: 'wallet', topicPrefix: 'wallet' },
  payment: { port: 3004, portVar: 'PAYMENT_PORT', database: 'payment', topicPrefix: 'payment' },
} as const;

export type ServiceName = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as ServiceName[];

/**
 * The gateway's operations port (readiness, health details, metrics): not its public port, and bound
 * to 127.0.0.1 unless GATEWAY_OPS_HOST says otherwise. The other services are internal already.
 */
export const GATEWAY_OPS = { port: 3100, portVar: 'GATEWAY_OPS_PORT' } as const;
