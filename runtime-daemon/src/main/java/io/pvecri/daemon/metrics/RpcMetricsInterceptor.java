package io.pvecri.daemon.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.daemon.util.Log;

import java.time.Duration;

/**
 * Per-RPC metrics and one log line per call: {@code pvecri_grpc_requests_total{method}},
 * {@code pvecri_grpc_errors_total{method,code}} and the latency histogram
 * {@code pvecri_grpc_request_seconds{method,code}}. Failed calls log at warn with their message.
 */
public final class RpcMetricsInterceptor implements ServerInterceptor {
    private static final Log LOG = Log.get(RpcMetricsInterceptor.class);

    private final MeterRegistry registry;

    public RpcMetricsInterceptor(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getBareMethodName();
        long start = System.nanoTime();
        Counter.builder("pvecri.grpc.requests").description("CRI and admin RPCs received").tag("method", String.valueOf(method))
                .register(registry).increment();
        ServerCall<Q, R> recording = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                long nanos = System.nanoTime() - start;
                String code = status.getCode().name();
                Timer.builder("pvecri.grpc.request").description("RPC latency").tag("method", String.valueOf(method)).tag("code", code)
                        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(2))
                        .register(registry).record(Duration.ofNanos(nanos));
                if (!status.isOk()) {
                    Counter.builder("pvecri.grpc.errors").description("RPCs that failed, by status code")
                            .tag("method", String.valueOf(method)).tag("code", code).register(registry).increment();
                    LOG.warn("rpc.failed", "method", method, "code", code, "ms", nanos / 1_000_000, "message", String.valueOf(status.getDescription()));
                } else if (!method.startsWith("List") && !method.endsWith("Status") && !method.equals("Version") && !method.endsWith("Stats")) {
                    LOG.info("rpc.ok", "method", method, "ms", nanos / 1_000_000);
                } else {
                    LOG.debug("rpc.ok", "method", method, "ms", nanos / 1_000_000);
                }
                super.close(status, trailers);
            }
        };
        return next.startCall(recording, headers);
    }
}
