package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResolveTest {

    @TempDir
    Path tmp;
    ImageStore store;
    ImageRecord busybox;
    TestImages.LayoutInfo info;

    @BeforeEach
    void setUp() throws Exception {
        store = ImageStore.open(tmp.resolve("store"));
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), "docker.io/library/busybox:1.36");
        info = TestImages.inspect(layout);
        store.importImage(layout, Optional.of("busybox"));
        busybox = store.importImage(layout, Optional.of("reg.local:5000/a/b:t")).getFirst();
    }

    @AfterEach
    void close() {
        store.close();
    }

    private String resolved(String ref) {
        return store.resolve(ref).map(ImageRecord::id).orElse(null);
    }

    @Test
    void byId() {
        String id = busybox.id();
        String hex = id.substring(7);
        assertEquals(id, resolved(id));
        assertEquals(id, resolved(hex));
        assertEquals(id, resolved(hex.substring(0, 3)));
        assertEquals(id, resolved(hex.substring(0, 12)));
        assertEquals(id, resolved("sha256:" + hex.substring(0, 12)));
        assertEquals(null, resolved(hex.substring(0, 2)), "prefix needs 3 characters");
        assertEquals(null, resolved("sha256:" + "0".repeat(64)));
    }

    @Test
    void byName() {
        String id = busybox.id();
        assertEquals(id, resolved("busybox"));
        assertEquals(id, resolved("busybox:latest"));
        assertEquals(id, resolved("library/busybox:1.36"));
        assertEquals(id, resolved("docker.io/library/busybox:1.36"));
        assertEquals(id, resolved("reg.local:5000/a/b:t"));
        assertEquals(null, resolved("reg.local:5000/a/b"), "reg.local:5000/a/b:latest was never tagged");
        assertEquals(null, resolved("busybox:1.37"));
        assertEquals(null, resolved("not a reference"));
        assertEquals(null, resolved(""));
    }

    @Test
    void byDigestReference() {
        String id = busybox.id();
        assertEquals(id, resolved("busybox@" + info.manifestDigest()));
        assertEquals(id, resolved("docker.io/library/busybox@" + info.manifestDigest()));
        assertEquals(id, resolved("reg.local:5000/a/b@" + info.manifestDigest()));
        assertEquals(id, resolved("busybox:whatever@" + info.manifestDigest()), "digest wins over tag");
        assertEquals(null, resolved("other@" + info.manifestDigest()));
        assertEquals(null, resolved("busybox@sha256:" + "1".repeat(64)));
        assertTrue(busybox.repoDigests().contains("reg.local:5000/a/b@" + info.manifestDigest()));
    }

    @Test
    void ambiguousPrefixResolvesToNothing() {
        StoredImage a = stored("abc1" + "0".repeat(60), "docker.io/library/abc:latest");
        StoredImage b = stored("abc2" + "0".repeat(60), "docker.io/library/other:latest");
        List<StoredImage> both = List.of(a, b);
        assertEquals(Optional.empty(), ReferenceMatcher.resolve(both, "abc").filter(x -> x == b));
        assertEquals(a, ReferenceMatcher.resolve(both, "abc").orElseThrow(),
                "an ambiguous prefix falls back to the name docker.io/library/abc:latest");
        assertEquals(Optional.empty(), ReferenceMatcher.resolve(List.of(b, stored("abc3" + "0".repeat(60))), "abc"));
        assertEquals(b, ReferenceMatcher.resolve(both, "abc2").orElseThrow());
        assertEquals(b, ReferenceMatcher.resolve(both, "sha256:abc2").orElseThrow());
        assertEquals(Optional.empty(), ReferenceMatcher.resolve(both, "sha256:abc"));
    }

    private static StoredImage stored(String hex, String... tags) {
        return new StoredImage(1, "sha256:" + hex, List.of(tags), List.of(), 0, null, "linux/amd64", 0,
                "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", List.of(), 0, 0, false);
    }
}
