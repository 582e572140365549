package io.pvecri.daemon.config;

import io.pvecri.image.GcConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code images.gc} keys: defaults, every key read, bad values and unknown keys rejected by name. */
class ImageGcConfigTest {
    @TempDir
    Path tmp;

    private DaemonConfig load(String yaml) throws Exception {
        Path file = tmp.resolve("config.yaml");
        Files.writeString(file, "stateDir: " + tmp.resolve("state") + "\n" + yaml);
        return ConfigLoader.load(file, ConfigLoader.Overrides.none());
    }

    private String error(String yaml) {
        return assertThrows(ConfigException.class, () -> load(yaml)).getMessage();
    }

    @Test
    void defaultsAreKubeletsThresholdsEveryFiveMinutes() throws Exception {
        assertEquals(new GcConfig(85, 80, Duration.ofMinutes(5)), load("").images().gc());
        assertEquals(new GcConfig(85, 80, Duration.ofMinutes(5)), load("images:\n  maxConcurrentDownloads: 2\n").images().gc());
    }

    @Test
    void everyKeyIsRead() throws Exception {
        GcConfig gc = load("""
                images:
                  gc:
                    highThresholdPercent: 90
                    lowThresholdPercent: 50
                    intervalSeconds: 30
                """).images().gc();
        assertEquals(new GcConfig(90, 50, Duration.ofSeconds(30)), gc);
        assertTrue(gc.thresholdEnabled());
        assertFalse(load("images:\n  gc:\n    highThresholdPercent: 100\n").images().gc().thresholdEnabled(),
                "100 turns threshold collection off");
    }

    @Test
    void badValuesNameTheirKey() {
        assertTrue(error("images:\n  gc:\n    highThresholdPercent: 101\n").startsWith("images.gc.highThresholdPercent: 101 is out of range"));
        assertTrue(error("images:\n  gc:\n    highThresholdPercent: 0\n").startsWith("images.gc.highThresholdPercent"));
        assertTrue(error("images:\n  gc:\n    lowThresholdPercent: -1\n").startsWith("images.gc.lowThresholdPercent"));
        String order = error("images:\n  gc:\n    highThresholdPercent: 70\n    lowThresholdPercent: 70\n");
        assertTrue(order.startsWith("images.gc.lowThresholdPercent (70) must be below images.gc.highThresholdPercent (70)"), order);
        assertTrue(error("images:\n  gc:\n    lowThresholdPercent: 90\n").contains("must be below"), "default high is 85");
        assertTrue(error("images:\n  gc:\n    intervalSeconds: 0\n").startsWith("images.gc.intervalSeconds: 0 is out of range 1..86400"));
        assertTrue(error("images:\n  gc:\n    intervalSeconds: soon\n").contains("images.gc.intervalSeconds"));
    }

    @Test
    void unknownKeysAreRejected() {
        String e = error("images:\n  gc:\n    highThreshold: 90\n");
        assertTrue(e.contains("unknown key 'images.gc.highThreshold'"), e);
        assertTrue(e.contains("highThresholdPercent") && e.contains("intervalSeconds") && e.contains("lowThresholdPercent"), e);
    }
}
