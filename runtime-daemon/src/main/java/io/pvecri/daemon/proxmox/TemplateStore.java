package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.config.ProxmoxSection;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.Log;
import io.pvecri.proxmox.LxcApi;
import io.pvecri.proxmox.LxcConfig;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveException;
import io.pvecri.proxmox.PveParams;
import io.pvecri.proxmox.StorageApi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One PVE CT template per image: created once from the cached image's unpacked tree (packed as a
 * template archive, uploaded to the template storage, {@code pct create} unprivileged, converted to a
 * template), tagged, described with the image id, shared by every container of the image as the base
 * of their linked clones, destroyed when the image leaves the cache (PVE refuses while clones exist).
 */
final class TemplateStore {
    private static final Log LOG = Log.get(TemplateStore.class);

    private final PveClient client;
    private final ProxmoxSection.Settings s;
    private final CtRecords records;
    private final PveTasks tasks;
    private final Path workDir;
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    TemplateStore(PveClient client, ProxmoxSection.Settings s, CtRecords records, PveTasks tasks, Path workDir) {
        this.client = client;
        this.s = s;
        this.records = records;
        this.tasks = tasks;
        this.workDir = workDir;
    }

    /** The template VMID for {@code imageId}, creating the template from {@code rootfs} if there is none. */
    int ensure(String imageId, Path rootfs) throws IOException {
        String name = recordName(imageId);
        synchronized (locks.computeIfAbsent(name, k -> new Object())) {
            Optional<CtRecords.Entry> known = records.get(name);
            if (known.isPresent() && known.get().state() == CtRecords.State.READY && isOurTemplate(known.get().vmid(), imageId)) {
                return known.get().vmid();
            }
            if (known.isPresent()) {
                // A half-made template (daemon died, task failed) or one removed behind our back.
                discard(known.get().vmid(), imageId);
                records.delete(name);
            }
            return create(name, imageId, rootfs);
        }
    }

    private int create(String name, String imageId, Path rootfs) throws IOException {
        long started = System.nanoTime();
        String hex = hex(imageId);
        String archiveName = "pve-cri-" + hex.substring(0, 16) + ".tar.gz";
        Path archive = workDir.resolve(archiveName);
        Files.createDirectories(workDir);
        Command.Result tar = Command.run(List.of("tar", "-C", rootfs.toString(), "--numeric-owner", "--xattrs", "-czf",
                archive.toString(), "."), Duration.ofMinutes(10));
        if (!tar.ok()) {
            Files.deleteIfExists(archive);
            throw new IOException("cannot pack image " + imageId + " as a CT template archive: " + tar.describe());
        }
        StorageApi storage = client.storage(s.node());
        String volid = s.templateStorage() + ":vztmpl/" + archiveName;
        int vmid = -1;
        try {
            tasks.await("upload template " + archiveName, storage.upload(s.templateStorage(), "vztmpl", archive, archiveName, Optional.empty()));
            LxcApi lxc = client.lxc(s.node());
            PveParams params = PveParams.of()
                    .with("ostemplate", volid)
                    .with("rootfs", s.rootfsStorage() + ":" + s.rootfsSizeGiB())
                    .with("unprivileged", true)
                    .with("ostype", "unmanaged")
                    .with("hostname", "pve-cri-image-" + hex.substring(0, 12))
                    .with("memory", 512)
                    .with("swap", 0)
                    .with("tags", s.tag() + ";" + s.tag() + "-image")
                    .with("description", "pve-cri image template\nimage: " + imageId);
            var created = client.vmidAllocator(s.vmidMin(), s.vmidMax()).allocate(id -> {
                try {
                    records.put(name, id, CtRecords.State.CREATING);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return lxc.create(id, params);
            });
            vmid = created.vmid();
            tasks.await("create template CT " + vmid, created.result());
            tasks.await("convert CT " + vmid + " to a template", lxc.template(vmid));
            records.put(name, vmid, CtRecords.State.READY);
            LOG.info("proxmox.template_created", "image", imageId, "vmid", vmid,
                    "ms", (System.nanoTime() - started) / 1_000_000);
            return vmid;
        } catch (PveException | java.io.UncheckedIOException e) {
            if (vmid > 0) {
                discard(vmid, imageId);
            }
            records.delete(name);
            throw new IOException("cannot create the PVE template for image " + imageId + ": " + PveFailures.describe(e), e);
        } finally {
            Files.deleteIfExists(archive);
            try {
                storage.deleteVolume(s.templateStorage(), volid).ifPresent(u -> tasks.awaitQuietly("delete " + volid, u));
            } catch (PveException e) {
                LOG.debug("proxmox.template_archive_not_deleted", "volid", volid, "error", e.getMessage());
            }
        }
    }

    /** Destroys the image's template, if no linked clone uses it any more. Never throws. */
    void remove(String imageId) {
        String name = recordName(imageId);
        synchronized (locks.computeIfAbsent(name, k -> new Object())) {
            try {
                Optional<CtRecords.Entry> known = records.get(name);
                if (known.isEmpty()) {
                    return;
                }
                if (discard(known.get().vmid(), imageId)) {
                    records.delete(name);
                }
            } catch (IOException e) {
                LOG.warn("proxmox.template_remove_failed", "image", imageId, "error", e.getMessage());
            }
        }
    }

    /** Deletes template CT {@code vmid} if it is ours for {@code imageId}; true when it is gone. */
    private boolean discard(int vmid, String imageId) {
        try {
            LxcConfig c = client.lxc(s.node()).config(vmid);
            if (!c.tags().contains(s.tag()) || !c.get("description").orElse("").contains(imageId)) {
                LOG.warn("proxmox.template_not_ours", "vmid", vmid, "image", imageId);
                return true; // not ours (any more): forget it, never touch it
            }
            tasks.await("destroy template CT " + vmid, client.lxc(s.node()).delete(vmid));
            LOG.info("proxmox.template_destroyed", "image", imageId, "vmid", vmid);
            return true;
        } catch (PveException.NotFound e) {
            return true;
        } catch (PveException e) {
            LOG.warn("proxmox.template_destroy_failed", "image", imageId, "vmid", vmid, "error", PveFailures.describe(e));
            return false;
        }
    }

    private boolean isOurTemplate(int vmid, String imageId) {
        try {
            LxcConfig c = client.lxc(s.node()).config(vmid);
            return c.template() && c.tags().contains(s.tag()) && c.get("description").orElse("").contains(imageId);
        } catch (PveException.NotFound e) {
            return false;
        }
    }

    /** Record names of the templates pve-cri knows (for recovery). */
    List<CtRecords.Entry> known() throws IOException {
        return records.all();
    }

    static String recordName(String imageId) {
        return "image-" + hex(imageId);
    }

    private static String hex(String imageId) {
        String h = imageId.startsWith("sha256:") ? imageId.substring(7) : imageId;
        if (!h.matches("[0-9a-f]{16,64}")) {
            throw new IllegalArgumentException("not an image id: " + imageId);
        }
        return h;
    }

}
