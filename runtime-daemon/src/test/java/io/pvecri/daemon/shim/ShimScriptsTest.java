package io.pvecri.daemon.shim;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the init shim's own test scripts against the binary this build compiled: the host-side
 * suite (log format, exit codes, signals, ctl FIFO, exec mode) and the LXC smoke test (the shim
 * as PID 1 of a real container). Each script prints TAP-like lines and a summary.
 */
class ShimScriptsTest {
    private static final Path SHIM = Path.of(System.getProperty("pvecri.shim", "target/native/pve-cri-init"));
    private static final Path SCRIPTS = Path.of("src/test/shim");

    @Test
    void hostSuitePasses() throws Exception {
        Result r = run("shim-test.sh");
        assertEquals(0, r.code(), r.output());
        assertTrue(r.output().contains("# passed"), r.output());
    }

    @Test
    void lxcSmokePasses() throws Exception {
        Result r = run("lxc-smoke.sh");
        assumeTrue(r.code() != 77, "LXC smoke test skipped: " + r.output());
        assertEquals(0, r.code(), r.output());
    }

    private record Result(int code, String output) {}

    private static Result run(String script) throws IOException, InterruptedException {
        assertTrue(Files.isExecutable(SHIM), "shim binary not built: " + SHIM);
        Path out = Files.createTempFile("shim-test", ".log");
        try {
            Process p = new ProcessBuilder("bash", SCRIPTS.resolve(script).toString(), SHIM.toAbsolutePath().toString())
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
