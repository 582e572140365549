package io.pvecri.proxmox.node;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CtConfigLockTest {

    @TempDir
    Path dir;

    @Test
    void threadsOfOneProcessExcludeEachOther() throws Exception {
        CtConfigLock lock = new CtConfigLock(dir);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        Thread[] threads = new Thread[8];
        for (int i = 0; i < threads.length; i++) {
            threads[i] = Thread.ofVirtual().start(() -> {
                try {
                    lock.run(101, Duration.ofSeconds(20), () -> {
                        maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                        Thread.sleep(5);
                        inside.decrementAndGet();
                    });
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(1, maxInside.get());
    }

    @Test
    void aLockHeldByAnotherProcessTimesOutWithPvesMessage() throws Exception {
        CtConfigLock lock = new CtConfigLock(dir);
        // flock(1) holds the same file the way pct does, from another process.
        Process holder = new ProcessBuilder("flock", "--close", lock.file(102).toString(), "-c", "echo held; sleep 30").start();
        try {
            assertEquals("held", new String(holder.getInputStream().readNBytes(4)));
            var e = assertThrows(CtConfigLock.TimeoutException.class,
                    () -> lock.run(102, Duration.ofMillis(200), () -> { }));
            assertEquals("can't lock file '" + lock.file(102) + "' - got timeout", e.getMessage());
        } finally {
            holder.descendants().forEach(ProcessHandle::destroy);
            holder.destroy();
            holder.waitFor(5, TimeUnit.SECONDS);
        }
        CountDownLatch ran = new CountDownLatch(1);
        lock.run(102, Duration.ofSeconds(5), ran::countDown);
        assertTrue(ran.await(0, TimeUnit.SECONDS));
    }
}
