package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The token secret reaches the server in the header and nowhere else: not in logs, messages, toString. */
class SecretRedactionTest {

    @Test
    void secretNeverAppearsInLogsOrExceptions() throws Exception {
        List<String> texts = new ArrayList<>();
        try (LogCapture logs = new LogCapture(); Fixture f = new Fixture()) {
            // success paths (the emulator checks the header: success proves it was sent right)
            assertEquals("9.1.2", f.client.version().version());
            f.createCt(100, Map.of());
            // failures of every kind
            f.pve.faults().respond("GET", "/nodes/pve1/lxc/100/status/current", 1, 500,
                    "echoing your header: PVEAPIToken=" + Fixture.TOKEN_ID + "=" + f.secret);
            texts.add(describe(assertThrows(PveException.class, () -> f.lxc().status(100))));
            texts.add(describe(assertThrows(PveException.class, () -> f.lxc().config(4242))));
            f.pve.faults().drop("GET", "/version", 3);
            texts.add(describe(assertThrows(PveException.class, f.client::version)));
            f.pve.faults().lockTimeout("PUT", "/nodes/pve1/lxc/100/config", 100, 10);
            texts.add(describe(assertThrows(PveException.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 64))))));
            try (PveClient wrong = PveClient.create(PveClientConfig.builder(f.pve.uri(),
                    new ApiToken(Fixture.TOKEN_ID, f.secret + "x"), f.client.config().trust()).build())) {
                texts.add(describe(assertThrows(PveException.AuthFailed.class, wrong::version)));
            }
            texts.add(f.client.config().toString());
            texts.addAll(logs.lines());
            assertTrue(logs.lines().stream().anyMatch(l -> l.contains("PVE GET /version -> 200 ok")), "one line per call is logged");
            for (String t : texts) {
                assertFalse(t.contains(f.secret), "secret leaked into: " + t);
            }
            assertTrue(texts.getFirst().contains("PVEAPIToken=" + Fixture.TOKEN_ID + "=***"), texts.getFirst());
        }
    }

    @Test
    void tokenToStringIsRedactedAndFileIsTrimmed() throws Exception {
        Path file = Files.createTempFile("token", ".secret");
        Files.writeString(file, "  2f1c9b8e-0d7a-4c3b-8e2f-1a0b9c8d7e6f\n");
        ApiToken t = ApiToken.fromFile("svc@pve!ci", file);
        assertEquals("2f1c9b8e-0d7a-4c3b-8e2f-1a0b9c8d7e6f", t.secret());
        assertEquals("ApiToken[svc@pve!ci, secret=***]", t.toString());
        assertEquals("PVEAPIToken=svc@pve!ci=2f1c9b8e-0d7a-4c3b-8e2f-1a0b9c8d7e6f", t.headerValue());
        assertEquals("svc@pve", t.user());
        var missing = assertThrows(java.io.UncheckedIOException.class, () -> ApiToken.fromFile("svc@pve!ci", file.resolveSibling("nope")));
        assertTrue(missing.getMessage().contains("nope"));
        assertThrows(IllegalArgumentException.class, () -> new ApiToken("root@pam", "x"));
        assertThrows(IllegalArgumentException.class, () -> new ApiToken("root@pam!t", "a b"));
    }

    @Test
    void connectionRefusedIsUnavailableAndNotSent() throws Exception {
        int port;
        try (var s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        try (LogCapture logs = new LogCapture();
             PveClient c = PveClient.create(PveClientConfig.builder(URI.create("https://127.0.0.1:" + port),
                             new ApiToken(Fixture.TOKEN_ID, "d6c1a3f0-aaaa-bbbb-cccc-0123456789ab"),
                             new TlsTrust.Fingerprint(TestCerts.localhost().fingerprint()))
                     .connectTimeout(Duration.ofSeconds(2)).readAttempts(2).build())) {
            var e = assertThrows(PveException.Unavailable.class, () -> c.lxc("pve1").start(100));
            assertFalse(e.requestSent());
            assertEquals(0, e.status());
            for (String l : logs.lines()) {
                assertFalse(l.contains("d6c1a3f0-aaaa-bbbb-cccc-0123456789ab"), l);
            }
        }
    }

    private static String describe(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        return t + "\n" + w;
    }
}
