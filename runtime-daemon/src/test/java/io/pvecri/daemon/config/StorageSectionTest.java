package io.pvecri.daemon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code storage:} keys, through the whole loader (YAML, unknown keys, defaults). */
class StorageSectionTest {
    @TempDir
    Path dir;

    private DaemonConfig load(String yaml) throws Exception {
        Path f = dir.resolve("config.yaml");
        Files.writeString(f, "stateDir: /var/lib/pve-cri-test\n" + yaml);
        return ConfigLoader.load(f, ConfigLoader.Overrides.none());
    }

    private String error(String yaml) {
        return assertThrows(ConfigException.class, () -> load(yaml)).getMessage();
    }

    @Test
    void defaultsToDir() throws Exception {
        StorageSection.Settings s = load("").storage();
        assertEquals(StorageSection.Format.DIR, s.format());
        assertNull(s.zfs());
        assertEquals(Path.of("/var/lib/pve-cri-test/rootfs/raw"), s.raw().dir());
        assertEquals(10, s.raw().headroomPercent());
    }

    @Test
    void zfsNeedsAValidDataset() throws Exception {
        StorageSection.Settings s = load("storage: {format: zfs, zfs: {dataset: tank/pve-cri}}").storage();
        assertEquals(StorageSection.Format.ZFS, s.format());
        assertEquals("tank/pve-cri", s.zfs().dataset());
        assertEquals("tank", s.zfs().pool());
        assertEquals("tank", load("storage: {format: ZFS, zfs: {dataset: tank}}").storage().zfs().pool());

        assertTrue(error("storage: {format: zfs}").startsWith("storage.zfs.dataset: required"));
        assertTrue(error("storage: {format: zfs, zfs: {dataset: /tank/x}}").startsWith("storage.zfs.dataset: '/tank/x' is not"));
        assertTrue(error("storage: {format: zfs, zfs: {dataset: 'tank/a@snap'}}").startsWith("storage.zfs.dataset"));
        assertTrue(error("storage: {format: zfs, zfs: {dataset: tank/" + "x".repeat(200) + "}}").contains("leave room"));
    }

    @Test
    void rawSettings() throws Exception {
        StorageSection.Settings s = load("storage: {format: raw, raw: {dir: /srv/raw, headroomPercent: 25}}").storage();
        assertEquals(StorageSection.Format.RAW, s.format());
        assertEquals(Path.of("/srv/raw"), s.raw().dir());
        assertEquals(25, s.raw().headroomPercent());
        assertTrue(error("storage: {format: raw, raw: {dir: relative}}").startsWith("storage.raw.dir"));
        assertTrue(error("storage: {format: raw, raw: {headroomPercent: -1}}").startsWith("storage.raw.headroomPercent"));
    }

    @Test
    void theExampleConfigLoads() throws Exception {
        Path example = Path.of("../deploy/config/config.yaml");
        StorageSection.Settings s = ConfigLoader.load(example, ConfigLoader.Overrides.none()).storage();
        assertEquals(StorageSection.Format.DIR, s.format());
        assertEquals(Path.of("/var/lib/pve-cri/rootfs/raw"), s.raw().dir());
    }

    @Test
    void badFormatAndUnknownKeysAreRefused() {
        assertTrue(error("storage: {format: btrfs}").startsWith("storage.format: 'btrfs' is not one of dir, zfs, raw"));
        assertTrue(error("storage: {format: zfs, zfs: {pool: tank}}").contains("unknown key 'storage.zfs.pool'"));
    }
}
