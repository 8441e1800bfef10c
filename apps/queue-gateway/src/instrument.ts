// Loaded first by main.ts: tracing must patch http, express, pg, ioredis and kafkajs before they load.
import { commonSchema, loadConfig } from '@ticketing/config';
import { startTelemetry } from '@ticketing/telemetry';

const config = loadConfig(commonSchema);
startTelemetry({ serviceName: 'queue-gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, disabled: config.OTEL_SDK_DISABLED, sampleRatio: config.TRACE_SAMPLE_RATIO, publicEntrance: true });
