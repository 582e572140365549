package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.image.testing.LocalRegistry;
import io.pvecri.image.testing.RegistryImage;
import io.pvecri.image.testing.TestImages;
import io.pvecri.proto.cri.v1.AuthConfig;
import io.pvecri.proto.cri.v1.ImageFilter;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.ImageStatusRequest;
import io.pvecri.proto.cri.v1.ImageStatusResponse;
import io.pvecri.proto.cri.v1.ListImagesRequest;
import io.pvecri.proto.cri.v1.PullImageRequest;
import io.pvecri.proto.cri.v1.PullImageResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CRI PullImage end to end: the daemon pulls from Debian's docker-registry on 127.0.0.1 (plain
 * HTTP, found by the loopback fallback without any config), with and without basic auth, and
 * runs a container from the pulled image.
 */
class ImagePullIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static LocalRegistry open;
    private static LocalRegistry locked;
    private static RegistryImage image;

    @BeforeAll
    static void registries() throws Exception {
        image = RegistryImage.busyboxWith(TestImages.Layer.gzip(TestImages.tar()
                .dir("srv/").file("srv/hello.txt", "pulled from a registry\n").build()));
        open = LocalRegistry.start();
        image.push(open.authority(), "e2e/hello", "1");
        locked = LocalRegistry.startWithBasicAuth("kube", "pull-secret");
        image.push(locked.authority(), "e2e/private", "1", "kube", "pull-secret");
    }

    @AfterAll
    static void stopRegistries() {
        if (open != null) {
            open.close();
        }
        if (locked != null) {
            locked.close();
        }
    }

    private static PullImageResponse pull(String ref, AuthConfig auth) {
        PullImageRequest.Builder b = PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref));
        if (auth != null) {
            b.setAuth(auth);
        }
        return daemon.daemon().images().pullImage(b.build());
    }

    @Test
    void pullThenRunAContainerFromThePulledImage() {
        String ref = open.authority() + "/e2e/hello:1";
        PullImageResponse r = pull(ref, null);
        assertEquals(image.configDigest(), r.getImageRef(), "image_ref is the image id, as containerd answers");

        ImageStatusResponse status = daemon.daemon().images().imageStatus(ImageStatusRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).build());
        assertEquals(image.configDigest(), status.getImage().getId());
        assertEquals(List.of(ref), status.getImage().getRepoTagsList());
        assertEquals(List.of(open.authority() + "/e2e/hello@" + image.digest()), status.getImage().getRepoDigestsList());
        assertTrue(daemon.daemon().images().listImages(ListImagesRequest.newBuilder()
                .setFilter(ImageFilter.newBuilder().setImage(ImageSpec.newBuilder().setImage(r.getImageRef()))).build())
                .getImagesCount() == 1);

        Pods pods = daemon.pods();
        Pod pod = pods.run("pulled");
        var config = pods.sleeper("app");
        config.setImage(ImageSpec.newBuilder().setImage(ref));
        String id = pod.start(config);
        assertEquals("pulled from a registry\n", pods.execOk(id, "cat", "/srv/hello.txt"));

        // the same image again: a cache hit, counted as such
        assertEquals(image.configDigest(), pull(open.authority() + "/e2e/hello@" + image.digest(), null).getImageRef());
        PrometheusText m = metrics();
        assertTrue(m.sumOrZero("pvecri_image_pull_cache_misses_total", Map.of()) >= 1, "misses");
        assertTrue(m.sumOrZero("pvecri_image_pull_cache_hits_total", Map.of()) >= 1, "hits");
        assertTrue(m.sumOrZero("pvecri_image_pull_bytes_total", Map.of()) > 0, "bytes");
        assertTrue(m.sumOrZero("pvecri_image_pull_seconds_count", Map.of()) >= 2, "durations");
        // the busybox layer is the one of the imported test image: already in the store, never fetched
        assertTrue(daemon.daemon().log().contains("layers_fetched=1 layers_reused=1 cache_hit=false"), "pull log line");
        assertTrue(daemon.daemon().log().contains("layers_fetched=0 layers_reused=2 cache_hit=true"), "cache-hit log line");
    }

    @Test
    void credentialsFromTheRequestAreUsedAndMissingOnesAreUnauthenticated() {
        String ref = locked.authority() + "/e2e/private:1";
        var e = assertStatus(Status.Code.UNAUTHENTICATED, () -> pull(ref, null));
        assertTrue(e.getStatus().getDescription().contains(locked.authority()), e.getStatus().getDescription());
        PullImageResponse r = pull(ref, AuthConfig.newBuilder().setUsername("kube").setPassword("pull-secret")
                .setServerAddress(locked.authority()).build());
        assertEquals(image.configDigest(), r.getImageRef());
        assertTrue(metrics().sumOrZero("pvecri_image_pull_errors_total", Map.of("reason", "unauthorized")) >= 1);
    }

    @Test
    void missingImagesAndUnreachableRegistriesHaveClearStatuses() throws Exception {
        var nf = assertStatus(Status.Code.NOT_FOUND, () -> pull(open.authority() + "/e2e/hello:nope", null));
        assertTrue(nf.getStatus().getDescription().contains("e2e/hello:nope"), nf.getStatus().getDescription());
        String dead = "127.0.0.1:" + LocalRegistry.freePort();
        var un = assertStatus(Status.Code.UNAVAILABLE, () -> pull(dead + "/e2e/hello:1", null));
        assertTrue(un.getStatus().getDescription().contains(dead), un.getStatus().getDescription());
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> pull("Not A Reference", null));
    }

    private static PrometheusText metrics() {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + daemon.daemon().metricsAddress()
                    + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return PrometheusText.parse(r.body());
        } catch (Exception e) {
            throw new AssertionError("cannot scrape the daemon's metrics", e);
        }
    }
}
