package io.pvecri.image;

import io.pvecri.image.testing.CountingProxy;
import io.pvecri.image.testing.LocalRegistry;
import io.pvecri.image.testing.RegistryImage;
import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import io.pvecri.image.testing.TestImages.Layer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pulls from a real registry: Debian's docker-registry on 127.0.0.1 (plain HTTP, found by the
 * HTTPS-then-HTTP fallback for loopback registries, as containerd does), with images this test
 * pushes itself.
 */
class RegistryPullTest {

    static LocalRegistry registry;
    static final AtomicInteger SEQ = new AtomicInteger();

    @TempDir
    Path tmp;
    ImageStore store;
    RegistryPuller puller;
    final List<PullResult> finished = new ArrayList<>();
    final List<String> failures = new ArrayList<>();

    @BeforeAll
    static void startRegistry() {
        registry = LocalRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    @BeforeEach
    void open() throws Exception {
        store = ImageStore.open(tmp.resolve("store"));
        puller = new RegistryPuller(store, RegistryConfig.defaults(), listener());
    }

    PullListener listener() {
        return new PullListener() {
            @Override
            public synchronized void pullFinished(PullResult result) {
                finished.add(result);
            }

            @Override
            public synchronized void pullFailed(String reference, String reason, ImageCacheException error,
                                                java.time.Duration elapsed) {
                failures.add(reason);
            }
        };
    }

    @AfterEach
    void close() {
        puller.close();
        store.close();
    }

    static String repo() {
        return "test/img" + SEQ.incrementAndGet();
    }

    String ref(String repo, String tagOrDigest) {
        return registry.authority() + "/" + repo + (tagOrDigest.startsWith("sha256:") ? "@" : ":") + tagOrDigest;
    }

    @Test
    void pullByTagThenByDigestAndTagWithDigest() throws Exception {
        String repo = repo();
        RegistryImage img = RegistryImage.busybox();
        img.push(registry.authority(), repo, "1.0");

        PullResult r = puller.pull(ref(repo, "1.0"), RegistryAuth.ANONYMOUS);
        assertEquals(img.configDigest(), r.image().id());
        assertEquals(List.of(registry.authority() + "/" + repo + ":1.0"), r.image().repoTags());
        assertEquals(List.of(registry.authority() + "/" + repo + "@" + img.digest()), r.image().repoDigests());
        assertEquals(img.digest(), r.manifestDigest());
        assertFalse(r.cacheHit());
        assertEquals(1, r.layersFetched());
        assertTrue(r.bytesFetched() > 1_000_000, "bytes " + r.bytesFetched());
        assertEquals("linux/amd64", r.image().platform());
        Path rootfs = store.rootfs(r.image().id());
        assertTrue(Files.isRegularFile(rootfs.resolve("bin/busybox")));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(rootfs.resolve("bin/sh")));
        assertEquals(List.of("sh"), r.image().config().cmd());

        PullResult byDigest = puller.pull(ref(repo, img.digest()), RegistryAuth.ANONYMOUS);
        assertTrue(byDigest.cacheHit());
        assertEquals(0, byDigest.layersFetched());
        assertEquals(r.image().id(), byDigest.image().id());
        assertEquals(List.of(registry.authority() + "/" + repo + ":1.0"), byDigest.image().repoTags(), "a digest adds no tag");

        PullResult both = puller.pull(registry.authority() + "/" + repo + ":other@" + img.digest(), RegistryAuth.ANONYMOUS);
        assertEquals(r.image().id(), both.image().id());
        assertEquals(r.image().id(), store.resolve(registry.authority() + "/" + repo + "@" + img.digest()).orElseThrow().id());
        assertEquals(1, store.list().size());
        assertEquals(3, finished.size());
    }

    @Test
    void gzipZstdUncompressedLayersAndWhiteouts() throws Exception {
        String repo = repo();
        byte[] base = TestImages.busyboxLayerTar();
        byte[] zstdTar = TestImages.tar().dir("opt/").dir("opt/app/").file("opt/app/zstd.txt", "from zstd")
                .file("opt/app/gone.txt", "deleted later").dir("opt/cache/").file("opt/cache/old", "x").build();
        byte[] plainTar = TestImages.tar().dir("etc/").file("etc/plain.conf", "uncompressed").build();
        byte[] whiteoutTar = TestImages.tar().whiteout("opt/app", "gone.txt").opaque("opt/cache")
                .file("opt/cache/new", "y").build();
        RegistryImage img = RegistryImage.oci(List.of(Layer.gzip(base), RegistryImage.zstd(zstdTar),
                Layer.uncompressed(plainTar), Layer.gzip(whiteoutTar)), ImageConfigJson.defaults());
        img.push(registry.authority(), repo, "layers");

        PullResult r = puller.pull(ref(repo, "layers"), RegistryAuth.ANONYMOUS);
        assertEquals(4, r.layersFetched());
        Path rootfs = store.rootfs(r.image().id());
        assertEquals("from zstd", Files.readString(rootfs.resolve("opt/app/zstd.txt")));
        assertEquals("uncompressed", Files.readString(rootfs.resolve("etc/plain.conf")));
        assertFalse(Files.exists(rootfs.resolve("opt/app/gone.txt"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(List.of("new"), StoreAssertions.children(rootfs.resolve("opt/cache")));
        assertTrue(Files.isRegularFile(rootfs.resolve("bin/busybox")));
    }

    @Test
    void dockerSchema2AndMultiArchIndexWithPlatformChoice() throws Exception {
        String repo = repo();
        RegistryImage amd = RegistryImage.docker(List.of(Layer.gzip(TestImages.tar().file("arch", "amd64").build())
                        .withMediaType(RegistryImage.DOCKER_LAYER_GZIP)), ImageConfigJson.defaults());
        RegistryImage arm = RegistryImage.oci(List.of(Layer.gzip(TestImages.tar().file("arch", "arm64").build())),
                ImageConfigJson.defaults().withArchitecture("arm64"));
        Map<String, RegistryImage> platforms = new LinkedHashMap<>();
        platforms.put("linux/arm64/v8", arm);
        platforms.put("linux/amd64", amd);
        RegistryImage index = RegistryImage.index(platforms);
        index.push(registry.authority(), repo, "multi");

        PullResult r = puller.pull(ref(repo, "multi"), RegistryAuth.ANONYMOUS);
        assertEquals(amd.configDigest(), r.image().id());
        assertEquals("linux/amd64", r.image().platform());
        assertEquals("amd64", Files.readString(store.rootfs(r.image().id()).resolve("arch")));
        assertEquals(List.of(registry.authority() + "/" + repo + "@" + index.digest()), r.image().repoDigests(),
                "the repo digest is the index digest, as containerd records it");

        try (ImageStore other = ImageStore.open(tmp.resolve("arm-store"));
             RegistryPuller armPuller = new RegistryPuller(other,
                     RegistryConfig.defaults().withPlatform(Platform.parse("linux/arm64")), null)) {
            PullResult a = armPuller.pull(ref(repo, "multi"), RegistryAuth.ANONYMOUS);
            assertEquals(arm.configDigest(), a.image().id());
            assertEquals("linux/arm64", a.image().platform());
            assertEquals("arm64", Files.readString(other.rootfs(a.image().id()).resolve("arch")));
        }
        try (ImageStore other = ImageStore.open(tmp.resolve("s390-store"));
             RegistryPuller s390 = new RegistryPuller(other,
                     RegistryConfig.defaults().withPlatform(Platform.parse("linux/s390x")), null)) {
            ImageNotFoundException e = assertThrows(ImageNotFoundException.class,
                    () -> s390.pull(ref(repo, "multi"), RegistryAuth.ANONYMOUS));
            assertTrue(e.getMessage().contains("linux/s390x") && e.getMessage().contains("linux/arm64/v8"), e.getMessage());
            assertTrue(other.list().isEmpty());
        }
    }

    @Test
    void tagMovesToTheNewerImage() throws Exception {
        String repo = repo();
        RegistryImage v1 = RegistryImage.busyboxWith(Layer.gzip(TestImages.tar().file("version", "1").build()));
        RegistryImage v2 = RegistryImage.busyboxWith(Layer.gzip(TestImages.tar().file("version", "2").build()));
        v1.push(registry.authority(), repo, "latest");
        PullResult first = puller.pull(registry.authority() + "/" + repo, RegistryAuth.ANONYMOUS);
        v2.push(registry.authority(), repo, "latest");
        PullResult second = puller.pull(registry.authority() + "/" + repo, RegistryAuth.ANONYMOUS);
        assertNotEquals(first.image().id(), second.image().id());
        assertEquals(1, second.layersFetched(), "the busybox layer is shared and never fetched again");
        assertEquals(1, second.layersReused());
        ImageRecord old = store.resolve(first.image().id()).orElseThrow();
        assertEquals(List.of(), old.repoTags(), "the old image lost the tag");
        assertEquals(List.of(registry.authority() + "/" + repo + ":latest"),
                store.resolve(second.image().id()).orElseThrow().repoTags());
    }

    @Test
    void concurrentPullsShareDownloadsAndACachedImageFetchesNoBlob() throws Exception {
        String repo = repo();
        RegistryImage img = RegistryImage.busyboxWith(
                Layer.gzip(TestImages.tar().file("a", "x".repeat(200_000)).build()),
                RegistryImage.zstd(TestImages.tar().file("b", "y".repeat(300_000)).build()));
        img.push(registry.authority(), repo, "shared");
        try (CountingProxy proxy = CountingProxy.start(registry.authority());
             RegistryPuller puller = new RegistryPuller(store, RegistryConfig.defaults().withHost(proxy.authority(),
                     new RegistryConfig.Host(List.of(), false, true, null)), null)) {
            // (the proxy is the JDK's HttpServer, which never answers a TLS hello: plain HTTP is configured)
            String reference = proxy.authority() + "/" + repo + ":shared";
            int n = 6;
            List<Future<PullResult>> futures = new ArrayList<>();
            try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                for (int i = 0; i < n; i++) {
                    futures.add(pool.submit((Callable<PullResult>) () -> {
                        go.await();
                        return puller.pull(reference, RegistryAuth.ANONYMOUS);
                    }));
                }
                go.countDown();
                for (Future<PullResult> f : futures) {
                    assertEquals(img.configDigest(), f.get().image().id());
                }
            }
            Map<String, Integer> gets = proxy.blobGets();
            for (String layer : img.layerDigests()) {
                assertEquals(1, gets.getOrDefault(layer, 0), "GETs of layer " + layer + ": " + gets);
            }
            assertEquals(1, gets.getOrDefault(img.configDigest(), 0), "config GETs: " + gets);
            assertEquals(1, store.list().size());

            proxy.clear();
            PullResult again = puller.pull(reference, RegistryAuth.ANONYMOUS);
            assertTrue(again.cacheHit());
            assertEquals(0, again.layersFetched());
            assertEquals(Map.of(), proxy.blobGets(), "a cached image fetches no blob");
            assertTrue(proxy.hits().stream().allMatch(h -> h.method().equals("HEAD")), "only the manifest HEAD: " + proxy.hits());
        }
    }

    @Test
    void unknownTagAndRepositoryAreNotFound() throws Exception {
        ImageNotFoundException e = assertThrows(ImageNotFoundException.class,
                () -> puller.pull(registry.authority() + "/no/such:tag", RegistryAuth.ANONYMOUS));
        assertTrue(e.getMessage().contains(registry.authority()) && e.getMessage().contains("no/such"), e.getMessage());
        assertEquals(registry.authority() + "/no/such:tag", e.reference());
        StoreAssertions.assertNothingStored(store);
        assertEquals(List.of("not_found"), failures);
    }

    @Test
    void traversalInAPulledLayerIsRejectedAndNothingStays() throws Exception {
        String repo = repo();
        Path sentinel = Files.createDirectories(tmp.resolve("sentinel"));
        RegistryImage img = RegistryImage.busyboxWith(Layer.gzip(TestImages.tar()
                .file("../../../../../../../../../../" + sentinel.toString().substring(1) + "/evil", "x").build()));
        img.push(registry.authority(), repo, "evil");
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> puller.pull(ref(repo, "evil"), RegistryAuth.ANONYMOUS));
        assertTrue(e.getMessage().contains("climbs out"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
        assertEquals(List.of(), StoreAssertions.children(sentinel));
    }

    @Test
    void mirrorIsTriedFirstAndUnreachableRegistryFailsClearly() throws Exception {
        String repo = repo();
        RegistryImage img = RegistryImage.busybox();
        img.push(registry.authority(), repo, "m");
        int dead = LocalRegistry.freePort();
        String upstream = "127.0.0.1:" + dead;
        RegistryConfig cfg = RegistryConfig.defaults().withHost(upstream,
                new RegistryConfig.Host(List.of(URI.create("http://" + registry.authority())), false, false, null));
        try (RegistryPuller viaMirror = new RegistryPuller(store, cfg, null)) {
            PullResult r = viaMirror.pull(upstream + "/" + repo + ":m", RegistryAuth.ANONYMOUS);
            assertEquals(img.configDigest(), r.image().id());
            assertEquals(List.of(upstream + "/" + repo + ":m"), r.image().repoTags(), "names are the registry's, not the mirror's");
            RegistryException e = assertThrows(RegistryException.class,
                    () -> viaMirror.pull(upstream + "/" + repo + ":not-on-mirror", RegistryAuth.ANONYMOUS));
            assertEquals(RegistryException.Reason.NETWORK, e.reason());
            assertTrue(e.getMessage().contains(upstream), e.getMessage());
        }
    }
}
