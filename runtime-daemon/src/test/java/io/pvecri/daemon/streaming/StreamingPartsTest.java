package io.pvecri.daemon.streaming;

import io.pvecri.daemon.config.ConfigException;
import io.pvecri.daemon.config.ConfigLoader;
import io.pvecri.daemon.config.DaemonConfig;
import io.pvecri.daemon.errors.CriException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokens, resize decoding, status JSON, protocol negotiation and the {@code streaming:} config section. */
class StreamingPartsTest {
    @Test
    void tokensAreRandomSingleUseAndExpire() {
        AtomicLong now = new AtomicLong();
        TokenCache c = new TokenCache(Duration.ofSeconds(60), 3, now::get);
        Set<String> seen = new HashSet<>();
        String a = c.insert(Kind.EXEC, "a");
        assertTrue(a.matches("[A-Za-z0-9_-]{43}"), a);
        seen.add(a);
        assertEquals("a", c.consume(a).orElseThrow().request());
        assertTrue(c.consume(a).isEmpty(), "a token is single-use");
        String b = c.insert(Kind.ATTACH, "b");
        assertTrue(seen.add(b));
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        assertTrue(c.consume(b).isEmpty(), "an expired token is refused");
        assertTrue(c.consume("nope").isEmpty());
        c.insert(Kind.EXEC, 1);
        c.insert(Kind.EXEC, 2);
        c.insert(Kind.EXEC, 3);
        assertThrows(CriException.ResourceExhausted.class, () -> c.insert(Kind.EXEC, 4));
        now.addAndGet(Duration.ofSeconds(61).toNanos());
        c.insert(Kind.EXEC, 5); // expired entries made room
        assertEquals(1, c.size());
    }

    @Test
    void resizeEventsAreSplitAcrossAndWithinFrames() {
        List<int[]> got = new ArrayList<>();
        ResizeDecoder d = new ResizeDecoder((w, h) -> got.add(new int[] {w, h}));
        d.feed("{\"Width\":80,\"Hei".getBytes(StandardCharsets.UTF_8));
        d.feed("ght\":24}\n{\"Width\":100,\"Height\":30}\n{\"x\":\"}{\"}".getBytes(StandardCharsets.UTF_8));
        d.feed("{\"Width\":0,\"Height\":5}{\"Width\":120,\"Height\":40}".getBytes(StandardCharsets.UTF_8));
        assertEquals(3, got.size());
        assertEquals(List.of(80, 24, 100, 30, 120, 40),
                got.stream().flatMap(a -> java.util.stream.Stream.of(a[0], a[1])).toList());
    }

    @Test
    void statusesAreKubeletsJson() {
        assertEquals("{\"metadata\":{},\"status\":\"Success\"}", new String(Status.ok().json(), StandardCharsets.UTF_8));
        assertEquals(0, Status.ok().text().length);
        Status s = Status.exitCode(List.of("ls", "-l"), 2);
        assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: error executing "
                + "command [ls -l], exit code 2\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
                + "\"message\":\"2\"}]}}", new String(s.json(), StandardCharsets.UTF_8));
        assertEquals(2, s.exitCodeOrMinusOne());
        assertEquals("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: boom\",\"reason\":\"InternalError\","
                + "\"details\":{\"causes\":[{\"message\":\"boom\"}]},\"code\":500}",
                new String(Status.internal("boom").json(), StandardCharsets.UTF_8));
    }

    @Test
    void negotiationFollowsTheClientsOrder() {
        assertEquals(Protocols.RC_V4, Protocols.negotiate(Protocols.values(List.of("v9.channel.k8s.io, v4.channel.k8s.io", "v3.channel.k8s.io")),
                Protocols.SPDY_REMOTE_COMMAND));
        assertNull(Protocols.negotiate(List.of("x"), Protocols.SPDY_PORT_FORWARD));
        assertTrue(Protocols.jsonStatus(Protocols.WS_V5));
        assertFalse(Protocols.jsonStatus(Protocols.RC_V3));
    }

    @Test
    void configSectionHasSafeDefaultsAndChecksValues(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("c.yaml");
        Files.writeString(f, "stateDir: " + dir + "\n");
        DaemonConfig.Streaming d = ConfigLoader.load(f, ConfigLoader.Overrides.none()).streaming();
        assertEquals(DaemonConfig.Streaming.defaults(), d);
        assertEquals("127.0.0.1", d.address());
        assertEquals(60, d.tokenTtlSeconds());
        assertEquals(14400, d.idleTimeoutSeconds());
        assertEquals(64, d.maxConcurrentStreams());

        Files.writeString(f, "stateDir: " + dir + "\nstreaming:\n  address: \"::1\"\n  port: 10010\n  tokenTtlSeconds: 5\n"
                + "  idleTimeoutSeconds: 60\n  maxConcurrentStreams: 3\n");
        DaemonConfig.Streaming s = ConfigLoader.load(f, ConfigLoader.Overrides.none()).streaming();
        assertEquals(new DaemonConfig.Streaming("::1", 10010, 5, 60, 3, null, null), s);

        for (String bad : List.of("port: 70000", "address: localhost", "tokenTtlSeconds: 0", "maxConcurrentStreams: 0",
                "tlsCertFile: /etc/passwd", "nope: 1")) {
            Files.writeString(f, "stateDir: " + dir + "\nstreaming:\n  " + bad + "\n");
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(f, ConfigLoader.Overrides.none()), bad);
            assertTrue(e.getMessage().contains("streaming") || e.getMessage().contains("nope"), e.getMessage());
        }
    }
}
