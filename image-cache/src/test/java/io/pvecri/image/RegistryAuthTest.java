package io.pvecri.image;

import io.pvecri.image.testing.LocalRegistry;
import io.pvecri.image.testing.RegistryImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Basic auth (docker-registry with htpasswd) and TLS registries (self-signed, insecure, extra CA). */
class RegistryAuthTest {

    static LocalRegistry basic;
    static LocalRegistry tls;
    static RegistryImage image;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        image = RegistryImage.busybox();
        basic = LocalRegistry.startWithBasicAuth("alice", "s3cret");
        image.push(basic.authority(), "private/busybox", "1", "alice", "s3cret");
        tls = LocalRegistry.startWithTls();
    }

    @AfterAll
    static void stop() {
        if (basic != null) {
            basic.close();
        }
        if (tls != null) {
            tls.close();
        }
    }

    @Test
    void basicAuthWithUserAndPasswordOrAuthField() throws Exception {
        String ref = basic.authority() + "/private/busybox:1";
        try (ImageStore store = ImageStore.open(tmp.resolve("s"));
             RegistryPuller puller = new RegistryPuller(store, RegistryConfig.defaults(), null)) {
            PullResult r = puller.pull(ref, RegistryAuth.fromCri("alice", "s3cret", "", "", ""));
            assertEquals(image.configDigest(), r.image().id());
            String auth = Base64.getEncoder().encodeToString("alice:s3cret".getBytes(StandardCharsets.UTF_8));
            PullResult again = puller.pull(ref, RegistryAuth.fromCri("", "", auth, "", ""));
            assertTrue(again.cacheHit());
        }
    }

    @Test
    void missingOrWrongCredentialsFailClearlyAndLeaveNothing() throws Exception {
        String ref = basic.authority() + "/private/busybox:1";
        try (ImageStore store = ImageStore.open(tmp.resolve("s"));
             RegistryPuller puller = new RegistryPuller(store, RegistryConfig.defaults(), null)) {
            RegistryException none = assertThrows(RegistryException.class, () -> puller.pull(ref, RegistryAuth.ANONYMOUS));
            assertEquals(RegistryException.Reason.UNAUTHORIZED, none.reason());
            assertEquals(basic.authority(), none.registry());
            assertTrue(none.getMessage().contains(basic.authority()) && none.getMessage().contains("no credentials"),
                    none.getMessage());
            RegistryException wrong = assertThrows(RegistryException.class,
                    () -> puller.pull(ref, new RegistryAuth.Basic("alice", "wrong")));
            assertEquals(RegistryException.Reason.UNAUTHORIZED, wrong.reason());
            assertTrue(wrong.getMessage().contains("alice") && !wrong.getMessage().contains("wrong"), wrong.getMessage());
            StoreAssertions.assertNothingStored(store);
        }
        assertThrows(InvalidImageException.class, () -> RegistryAuth.fromCri("", "", "not base64!", "", ""));
    }

    @Test
    void selfSignedTlsNeedsInsecureOrItsCa() throws Exception {
        image.pushTls(tls.authority(), "tls/busybox", "1");
        String ref = tls.authority() + "/tls/busybox:1";
        try (ImageStore store = ImageStore.open(tmp.resolve("s"))) {
            try (RegistryPuller strict = new RegistryPuller(store, RegistryConfig.defaults(), null)) {
                RegistryException e = assertThrows(RegistryException.class, () -> strict.pull(ref, RegistryAuth.ANONYMOUS));
                assertEquals(RegistryException.Reason.NETWORK, e.reason());
                assertTrue(e.getMessage().contains("caFile"), e.getMessage());
            }
            RegistryConfig insecure = RegistryConfig.defaults().withHost(tls.authority(),
                    new RegistryConfig.Host(List.of(), true, false, null));
            try (RegistryPuller p = new RegistryPuller(store, insecure, null)) {
                assertEquals(image.configDigest(), p.pull(ref, RegistryAuth.ANONYMOUS).image().id());
            }
            RegistryConfig withCa = RegistryConfig.defaults().withHost(tls.authority(),
                    new RegistryConfig.Host(List.of(), false, false, tls.certificate()));
            try (RegistryPuller p = new RegistryPuller(store, withCa, null)) {
                assertTrue(p.pull(ref, RegistryAuth.ANONYMOUS).cacheHit());
            }
        }
    }
}
