package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.config.ConfigException;
import io.pvecri.daemon.config.StorageSection;
import io.pvecri.daemon.util.FileTrees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Opening the configured format: the marker, refusing a switch under existing containers, purging the old format. */
class RootfsFormatsTest {
    private Path state;

    @BeforeEach
    void setUp() throws Exception {
        state = Files.createTempDirectory(Path.of("/tmp"), "pvecri-formats-");
        Files.createDirectories(state.resolve("containers"));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Path m : Mounts.under(state)) {
            SampleTree.run("umount", "-l", m.toString());
        }
        FileTrees.delete(state);
    }

    private RootfsFormat open(StorageSection.Settings s, int containers) throws ConfigException {
        return RootfsFormats.open(s, state, state.resolve("containers"), RootfsFormat.Observer.NONE, containers);
    }

    private StorageSection.Settings raw() {
        return new StorageSection.Settings(StorageSection.Format.RAW, null, new StorageSection.Raw(state.resolve("raw"), 10));
    }

    @Test
    void switchingIsRefusedWhileContainersExistAndPurgesTheOldFormatOtherwise() throws Exception {
        StorageSection.Settings dir = StorageSection.Settings.defaults(state);
        assertInstanceOf(DirFormat.class, open(dir, 0));
        assertEquals("dir\n", Files.readString(state.resolve("rootfs/format")));

        ConfigException refused = assertThrows(ConfigException.class, () -> open(raw(), 2));
        assertTrue(refused.getMessage().contains("2 container(s) were made with storage 'dir'"), refused::getMessage);

        RawFormat r = assertInstanceOf(RawFormat.class, open(raw(), 0));
        assertEquals("raw " + state.resolve("raw") + "\n", Files.readString(state.resolve("rootfs/format")));
        String image = "sha256:" + "ab".repeat(32);
        r.prepare("0".repeat(63) + "1", image, SampleTree.write(state.resolve("tree")));
        r.release("0".repeat(63) + "1");
        assertTrue(Files.exists(r.imageFile("ab".repeat(32))));

        open(dir, 0);
        assertEquals(List.of(), Files.list(state.resolve("raw/images")).toList(), "the raw format's files were purged");
        assertEquals("dir\n", Files.readString(state.resolve("rootfs/format")));
    }

    @Test
    void aMissingPoolIsAConfigurationErrorNamingTheKey() {
        StorageSection.Settings zfs = new StorageSection.Settings(StorageSection.Format.ZFS,
                new StorageSection.Zfs("nopool" + System.nanoTime() + "/pve-cri"), raw().raw());
        ConfigException e = assertThrows(ConfigException.class, () -> open(zfs, 0));
        assertTrue(e.getMessage().startsWith("storage.zfs.dataset: pool 'nopool"), e::getMessage);
    }
}
