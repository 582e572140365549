package io.pvecri.image;

import io.pvecri.image.testing.FakeRegistry;
import io.pvecri.image.testing.FakeRegistry.BlobFault;
import io.pvecri.image.testing.RegistryImage;
import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.Layer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Registry behaviour a real docker-registry does not show on demand, from {@link FakeRegistry}. */
class RegistryFaultsTest {

    @TempDir
    Path tmp;
    FakeRegistry fake;
    ImageStore store;
    RegistryPuller puller;
    RegistryImage image;

    @BeforeEach
    void setUp() throws Exception {
        fake = FakeRegistry.start();
        store = ImageStore.open(tmp.resolve("store"));
        // The JDK's HttpServer never answers a TLS hello, so it is configured as plain HTTP.
        puller = new RegistryPuller(store, RegistryConfig.defaults()
                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(3), Duration.ZERO)
                .withHost(fake.authority(), new RegistryConfig.Host(List.of(), false, true, null)), null);
        image = RegistryImage.oci(List.of(
                Layer.gzip(TestImages.tar().file("one", "1".repeat(5000)).build()),
                RegistryImage.zstd(TestImages.tar().file("two", "2".repeat(5000)).build())),
                TestImages.ImageConfigJson.defaults());
        fake.put("lib/app", image, "v1");
    }

    @AfterEach
    void tearDown() {
        puller.close();
        store.close();
        fake.close();
    }

    String ref() {
        return fake.authority() + "/lib/app:v1";
    }

    @Test
    void bearerTokenFlowWithCachedToken() throws Exception {
        fake.requireBearer("bob", "pw");
        RegistryException anon = assertThrows(RegistryException.class, () -> puller.pull(ref(), RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.UNAUTHORIZED, anon.reason());
        assertTrue(anon.getMessage().contains("token service") && anon.getMessage().contains(fake.authority()),
                anon.getMessage());
        StoreAssertions.assertNothingStored(store);

        int before = fake.tokenRequests();
        PullResult r = puller.pull(ref(), new RegistryAuth.Basic("bob", "pw"));
        assertEquals(image.configDigest(), r.image().id());
        assertEquals(1, fake.tokenRequests() - before, "one token for the whole pull");
        assertEquals("repository:lib/app:pull", fake.tokenScopes().getLast());
        assertTrue(fake.requests("GET", "/blobs/").stream().allMatch(q -> q.authorization().startsWith("Bearer ")));

        assertTrue(puller.pull(ref(), new RegistryAuth.Basic("bob", "pw")).cacheHit());
        assertEquals(1, fake.tokenRequests() - before, "the token is reused until it expires");
    }

    @Test
    void identityTokenAndRegistryToken() throws Exception {
        fake.requireBearer("bob", "pw").acceptRefreshToken("refresh-123");
        PullResult r = puller.pull(ref(), RegistryAuth.fromCri("", "", "", "refresh-123", ""));
        assertEquals(image.configDigest(), r.image().id());
        RegistryException bad = assertThrows(RegistryException.class,
                () -> puller.pull(fake.authority() + "/lib/app@" + image.digest(), RegistryAuth.fromCri("", "", "", "nope", "")));
        assertEquals(RegistryException.Reason.UNAUTHORIZED, bad.reason());

        RegistryException raw = assertThrows(RegistryException.class,
                () -> puller.pull(ref(), RegistryAuth.fromCri("", "", "", "", "not-issued")));
        assertEquals(RegistryException.Reason.UNAUTHORIZED, raw.reason());
        assertTrue(fake.requests().getLast().authorization().equals("Bearer not-issued"));
    }

    @Test
    void blobRedirectToAnotherHostDropsTheAuthorization() throws Exception {
        fake.requireBearer(null, null);
        for (String layer : image.layerDigests()) {
            fake.fault(layer, BlobFault.REDIRECT);
        }
        PullResult r = puller.pull(ref(), RegistryAuth.ANONYMOUS);
        assertEquals(2, r.layersFetched());
        assertEquals(2, fake.blobHostRequests().size());
        for (FakeRegistry.Request q : fake.blobHostRequests()) {
            assertNull(q.authorization(), "no credentials for the storage host: " + q);
        }
    }

    @Test
    void corruptBlobIsRejectedAndNothingStays() throws Exception {
        fake.fault(image.layerDigests().get(1), BlobFault.CORRUPT);
        InvalidImageException e = assertThrows(InvalidImageException.class, () -> puller.pull(ref(), RegistryAuth.ANONYMOUS));
        assertTrue(e.getMessage().contains("does not match its digest " + image.layerDigests().get(1)), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void corruptManifestIsRejected() throws Exception {
        byte[] other = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}"
                .getBytes(StandardCharsets.UTF_8);
        fake.putManifest("lib/app", image.digest(), other, TestImages.OCI_MANIFEST);
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> puller.pull(fake.authority() + "/lib/app@" + image.digest(), RegistryAuth.ANONYMOUS));
        assertTrue(e.getMessage().contains("digest"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void truncatedBlobIsANetworkErrorAfterOneRetry() throws Exception {
        String layer = image.layerDigests().getFirst();
        fake.fault(layer, BlobFault.TRUNCATE);
        RegistryException e = assertThrows(RegistryException.class, () -> puller.pull(ref(), RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.NETWORK, e.reason());
        assertTrue(e.getMessage().contains(layer), e.getMessage());
        assertEquals(2, fake.blobGets().get(layer), "one retry");
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void stalledDownloadTimesOut() throws Exception {
        fake.fault(image.layerDigests().getFirst(), BlobFault.STALL).stallMillis(9000);
        long t0 = System.nanoTime();
        RegistryException e = assertThrows(RegistryException.class, () -> puller.pull(ref(), RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.TIMEOUT, e.reason());
        assertTrue(e.getMessage().contains("no data arrived"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 8_000_000_000L, "gave up after the 3 s progress timeout, before the stall ended");
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void rateLimitServerErrorsAndNotFoundAreTyped() throws Exception {
        fake.status("/v2/limited/", 429);
        RegistryException limited = assertThrows(RegistryException.class,
                () -> puller.pull(fake.authority() + "/limited/app:v1", RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.RATE_LIMITED, limited.reason());
        assertTrue(limited.getMessage().contains("rate limiting") && limited.getMessage().contains("retry after 7"),
                limited.getMessage());
        fake.status("/v2/broken/", 503);
        RegistryException broken = assertThrows(RegistryException.class,
                () -> puller.pull(fake.authority() + "/broken/app:v1", RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.SERVER_ERROR, broken.reason());
        assertTrue(broken.getMessage().contains("503"), broken.getMessage());
        fake.status("/v2/lib/app/blobs/" + image.layerDigests().getFirst(), 500);
        RegistryException blob = assertThrows(RegistryException.class, () -> puller.pull(ref(), RegistryAuth.ANONYMOUS));
        assertEquals(RegistryException.Reason.SERVER_ERROR, blob.reason());
        StoreAssertions.assertNothingStored(store);
        ImageNotFoundException nf = assertThrows(ImageNotFoundException.class,
                () -> puller.pull(fake.authority() + "/lib/app:v2", RegistryAuth.ANONYMOUS));
        assertTrue(nf.getMessage().contains("lib/app:v2") && nf.getMessage().contains("404"), nf.getMessage());
    }

    @Test
    void registryWithoutHeadIsResolvedWithGet() throws Exception {
        fake.headSupported(false);
        PullResult r = puller.pull(ref(), RegistryAuth.ANONYMOUS);
        assertEquals(image.configDigest(), r.image().id());
        assertTrue(puller.pull(ref(), RegistryAuth.ANONYMOUS).cacheHit());
    }

    @Test
    void schema1IsRefusedWithAClearMessage() throws Exception {
        byte[] schema1 = ("{\"schemaVersion\":1,\"name\":\"lib/old\",\"tag\":\"v1\",\"architecture\":\"amd64\","
                + "\"fsLayers\":[],\"history\":[],\"signatures\":[]}").getBytes(StandardCharsets.UTF_8);
        fake.putManifest("lib/old", "v1", schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws");
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> puller.pull(fake.authority() + "/lib/old:v1", RegistryAuth.ANONYMOUS));
        assertTrue(e.getMessage().contains("schema 1"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void wwwAuthenticateParsing() {
        Challenge c = Challenge.parse(List.of("Bearer realm=\"https://auth.example/token\",service=\"reg.example\","
                + "scope=\"repository:a/b:pull,push\"")).orElseThrow();
        assertEquals("bearer", c.scheme());
        assertEquals("https://auth.example/token", c.params().get("realm"));
        assertEquals("repository:a/b:pull,push", c.params().get("scope"));
        assertEquals("basic", Challenge.parse(List.of("Basic realm=\"x\"")).orElseThrow().scheme());
    }
}
