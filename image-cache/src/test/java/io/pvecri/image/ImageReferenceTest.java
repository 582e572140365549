package io.pvecri.image;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageReferenceTest {

    private static final String D = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
            busybox                                  | docker.io/library/busybox:latest       | docker.io | docker.io/library/busybox | latest | -
            busybox:1.36                             | docker.io/library/busybox:1.36         | docker.io | docker.io/library/busybox | 1.36   | -
            library/busybox                          | docker.io/library/busybox:latest       | docker.io | docker.io/library/busybox | latest | -
            docker.io/busybox                        | docker.io/library/busybox:latest       | docker.io | docker.io/library/busybox | latest | -
            index.docker.io/library/busybox:x        | docker.io/library/busybox:x            | docker.io | docker.io/library/busybox | x      | -
            bitnami/nginx:1.25                       | docker.io/bitnami/nginx:1.25           | docker.io | docker.io/bitnami/nginx   | 1.25   | -
            reg.local:5000/a/b:t                     | reg.local:5000/a/b:t                   | reg.local:5000 | reg.local:5000/a/b   | t      | -
            localhost/foo                            | localhost/foo:latest                   | localhost | localhost/foo             | latest | -
            localhost:5000/foo_bar/x-y.z__w:V1.0-rc_2 | localhost:5000/foo_bar/x-y.z__w:V1.0-rc_2 | localhost:5000 | localhost:5000/foo_bar/x-y.z__w | V1.0-rc_2 | -
            Example.COM/app                          | Example.COM/app:latest                 | Example.COM | Example.COM/app         | latest | -
            [::1]:5000/app:1                         | [::1]:5000/app:1                       | [::1]:5000 | [::1]:5000/app           | 1      | -
            ghcr.io/org/team/app:sha-1               | ghcr.io/org/team/app:sha-1             | ghcr.io   | ghcr.io/org/team/app      | sha-1  | -
            a---b                                    | docker.io/library/a---b:latest         | docker.io | docker.io/library/a---b   | latest | -
            """)
    void parsesAndNormalises(String input, String normalized, String domain, String repository, String tag, String digest)
            throws Exception {
        ImageReference r = ImageReference.parse(input);
        assertEquals(normalized, r.normalized());
        assertEquals(domain, r.domain());
        assertEquals(repository, r.repository());
        assertEquals(tag, r.tag().orElse(null));
        assertEquals(digest, r.digest().orElse(null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"busybox@" + D, "docker.io/library/busybox@" + D})
    void digestOnlyReferenceHasNoDefaultTag(String input) throws Exception {
        ImageReference r = ImageReference.parse(input);
        assertEquals("docker.io/library/busybox@" + D, r.normalized());
        assertTrue(r.tag().isEmpty());
        assertEquals(D, r.digest().orElseThrow());
    }

    @org.junit.jupiter.api.Test
    void tagAndDigest() throws Exception {
        ImageReference r = ImageReference.parse("busybox:1.36@" + D);
        assertEquals("docker.io/library/busybox:1.36@" + D, r.normalized());
        assertEquals("1.36", r.tag().orElseThrow());
    }

    static java.util.stream.Stream<String> garbage() {
        return java.util.stream.Stream.of(
            "busybox:" + "t" + "x".repeat(128),
            "busybox@sha256:" + "A".repeat(64),
            "@" + "sha256:" + "a".repeat(64),
            "a".repeat(64));
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("garbage")
    void rejectsComputedGarbage(String input) {
        assertThrows(InvalidImageException.class, () -> ImageReference.parse(input));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            " busybox",
            "busybox ",
            "Busybox",
            "docker.io/Library/busybox",
            "busybox:",
            "busybox:-tag",
            "busybox@sha256:abc",
            "busybox@md5",
            "busybox@",
            ":tag",
            "/busybox",
            "busybox/",
            "a//b",
            "a/../b",
            "bad_-name",
            "-busybox",
            "busybox.",
            "reg:port/app",
            "-reg.local/app",
            "reg.local:5000/",
            "a b",
            "busybox:1.36:2",
    })
    void rejectsGarbage(String input) {
        InvalidImageException e = assertThrows(InvalidImageException.class, () -> ImageReference.parse(input));
        assertTrue(e.getMessage().startsWith("invalid image reference"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void rejectsOverlongName() {
        String longName = "r.io/" + "a".repeat(251);
        assertThrows(InvalidImageException.class, () -> ImageReference.parse(longName));
    }

    @org.junit.jupiter.api.Test
    void rejectsNull() {
        assertThrows(InvalidImageException.class, () -> ImageReference.parse(null));
    }
}
