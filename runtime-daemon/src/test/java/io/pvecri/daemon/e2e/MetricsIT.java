package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.Container;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.PodSandbox;
import io.pvecri.proto.cri.v1.PodSandboxState;
import io.pvecri.proto.cri.v1.VersionRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Prometheus endpoint. Names asserted here (the daemon's contract):
 * <ul>
 *   <li>{@code pvecri_grpc_requests_total{method="<RPC name>"}} counter, one per RPC served</li>
 *   <li>{@code pvecri_grpc_errors_total{method="<RPC name>",code="<io.grpc.Status.Code name>"}} counter</li>
 *   <li>{@code pvecri_grpc_request_seconds_bucket{method=...,le=...}}, {@code _count}, {@code _sum} histogram</li>
 *   <li>{@code pvecri_pods{state="ready"|"notready"}} gauge</li>
 *   <li>{@code pvecri_containers{state="created"|"running"|"exited"|"unknown"}} gauge</li>
 * </ul>
 * and {@code GET /healthz} answers 200 "ok".
 */
class MetricsIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private final Pods pods = daemon.pods();

    @Test
    void healthzAnswersOk() throws Exception {
        HttpResponse<String> response = get("/healthz");

        assertEquals(200, response.statusCode());
        assertEquals("ok", response.body().strip());
    }

    @Test
    void metricsAreServedInPrometheusTextFormat() throws Exception {
        HttpResponse<String> response = get("/metrics");

        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
                () -> "Content-Type " + response.headers().firstValue("Content-Type"));
        assertFalse(PrometheusText.parse(response.body()).samples().isEmpty());
    }

    @Test
    void everyRpcIsCountedByMethod() throws Exception {
        Map<String, String> version = Map.of("method", "Version");
        double before = metrics().sumOrZero("pvecri_grpc_requests_total", version);

        for (int i = 0; i < 3; i++) {
            pods.runtime().version(VersionRequest.getDefaultInstance());
        }
        pods.run("counted");

        assertEquals(before + 3, settledAt("pvecri_grpc_requests_total", version, before + 3));
        assertTrue(metrics().sumOrZero("pvecri_grpc_requests_total", Map.of("method", "RunPodSandbox")) >= 1);
    }

    @Test
    void failedRpcsAreCountedByStatusCode() throws Exception {
        Map<String, String> notFound = Map.of("method", "PodSandboxStatus", "code", "NOT_FOUND");
        double before = metrics().sumOrZero("pvecri_grpc_errors_total", notFound);

        assertStatus(Status.Code.NOT_FOUND, () -> pods.podStatus("feed".repeat(16)));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.podStatus("beef".repeat(16)));

        assertEquals(before + 2, settledAt("pvecri_grpc_errors_total", notFound, before + 2));
    }

    @Test
    void rpcLatencyIsAHistogram() throws Exception {
        pods.runtime().version(VersionRequest.getDefaultInstance());
        Map<String, String> version = Map.of("method", "Version");
        settledAt("pvecri_grpc_request_seconds_count", version, 1);

        PrometheusText metrics = metrics();
        List<PrometheusText.Sample> buckets = metrics.find("pvecri_grpc_request_seconds_bucket", version);
        assertTrue(buckets.size() >= 2, () -> "expected several latency buckets for Version: " + buckets);
        double count = metrics.sum("pvecri_grpc_request_seconds_count", version)
                .orElseThrow(() -> new AssertionError("no pvecri_grpc_request_seconds_count for Version"));
        double infinite = metrics.sum("pvecri_grpc_request_seconds_bucket", Map.of("method", "Version", "le", "+Inf"))
                .orElseThrow(() -> new AssertionError("no +Inf bucket for Version"));
        assertTrue(count >= 1);
        assertEquals(count, infinite, "the +Inf bucket holds every observation");
        assertTrue(metrics.sum("pvecri_grpc_request_seconds_sum", version).orElse(-1.0) >= 0);
    }

    @Test
    void podAndContainerGaugesFollowTheirStates() throws Exception {
        Pod ready = pods.run("gauge-ready");
        Pod stopped = pods.run("gauge-stopped");
        stopped.stop();
        String running = ready.start(pods.sleeper("running"));
        ready.create(pods.sleeper("created"));
        String exited = ready.start(pods.shell("exited", "exit 0"));
        pods.awaitState(running, ContainerState.CONTAINER_RUNNING);
        pods.awaitState(exited, ContainerState.CONTAINER_EXITED);

        PrometheusText metrics = metrics();

        List<PodSandbox> allPods = pods.listPods();
        List<Container> allContainers = pods.listContainers(Pods.containerFilter());
        assertEquals(count(allPods, PodSandboxState.SANDBOX_READY), gauge(metrics, "pvecri_pods", "ready"));
        assertEquals(count(allPods, PodSandboxState.SANDBOX_NOTREADY), gauge(metrics, "pvecri_pods", "notready"));
        for (var state : List.of(ContainerState.CONTAINER_CREATED, ContainerState.CONTAINER_RUNNING,
                ContainerState.CONTAINER_EXITED)) {
            String label = state.name().substring("CONTAINER_".length()).toLowerCase();
            long expected = allContainers.stream().filter(c -> c.getState() == state).count();
            assertTrue(expected >= 1);
            assertEquals(expected, gauge(metrics, "pvecri_containers", label), "containers " + label);
        }
    }

    /**
     * The value of a counter once it has reached {@code atLeast} (bounded wait): a server may
     * record a call just after answering it.
     */
    private double settledAt(String name, Map<String, String> labels, double atLeast) {
        return Wait.forValue(name + labels + " to reach " + atLeast, Duration.ofSeconds(5), () -> {
            try {
                return metrics().sumOrZero(name, labels);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }, v -> v >= atLeast);
    }

    private static long count(List<PodSandbox> pods, PodSandboxState state) {
        return pods.stream().filter(p -> p.getState() == state).count();
    }

    private static long gauge(PrometheusText metrics, String name, String state) {
        double value = metrics.sum(name, Map.of("state", state))
                .orElseThrow(() -> new AssertionError("no " + name + "{state=\"" + state + "\"}"));
        return Math.round(value);
    }

    private PrometheusText metrics() throws IOException, InterruptedException {
        HttpResponse<String> response = get("/metrics");
        assertEquals(200, response.statusCode());
        return PrometheusText.parse(response.body());
    }

    private static HttpResponse<String> get(String path) throws IOException, InterruptedException {
        URI uri = URI.create("http://" + daemon.daemon().metricsAddress() + path);
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
