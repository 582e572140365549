package io.pvecri.proxmox.emulator;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.BOOLEAN;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.INTEGER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/** {@code /nodes/{node}/storage…} as pve-storage's PVE/API2/Storage/{Status,Content}.pm answer. */
final class StorageHandlers {

    private static final String STORE = "/nodes/(?<node>[^/]+)/storage/(?<storage>[^/]+)";
    private static final Pattern VZTMPL_EXT = Pattern.compile("[^/]+\\.tar(?:\\.(?:gz|xz|zst|bz2))?$");
    // pve-storage oci_registry_pull 'reference' pattern
    private static final Pattern OCI_REFERENCE = Pattern.compile(
            "^(?:(?:[a-zA-Z\\d]|[a-zA-Z\\d][a-zA-Z\\d-]*[a-zA-Z\\d])(?:\\.(?:[a-zA-Z\\d]|[a-zA-Z\\d][a-zA-Z\\d-]*[a-zA-Z\\d]))*(?::\\d+)?/)?"
                    + "[a-z\\d]+(?:(?:[._]|__|[-]*)[a-z\\d]+)*(?:/[a-z\\d]+(?:(?:[._]|__|[-]*)[a-z\\d]+)*)*:\\w[\\w.-]{0,127}$");

    private final EmulatorConfig config;
    private final EmulatedCluster cluster;
    private final Faults faults;

    StorageHandlers(EmulatorConfig config, EmulatedCluster cluster, Faults faults) {
        this.config = config;
        this.cluster = cluster;
        this.faults = faults;
    }

    void register(Router r) {
        ParamSchema store = ParamSchema.of().req("node", STRING).req("storage", STRING);
        r.route("GET", "/nodes/(?<node>[^/]+)/storage", ParamSchema.of().req("node", STRING).opt("content", STRING)
                .opt("enabled", BOOLEAN).opt("format", BOOLEAN).opt("storage", STRING).opt("target", STRING), this::list);
        r.route("GET", STORE + "/content", ParamSchema.of().with(store).opt("content", STRING)
                .opt("vmid", INTEGER, 100, 999_999_999), this::content);
        r.route("DELETE", STORE + "/content/(?<volume>.+)", ParamSchema.of().with(store).req("volume", STRING)
                .opt("delay", INTEGER, 1, 30), this::deleteVolume);
        r.route("POST", STORE + "/upload", ParamSchema.of().with(store).req("content", STRING).req("filename", STRING)
                .opt("checksum", STRING).opt("checksum-algorithm", STRING).opt("tmpfilename", STRING), this::upload);
        r.route("POST", STORE + "/oci-registry-pull", ParamSchema.of().with(store).req("reference", STRING)
                .opt("filename", STRING), this::ociPull);
    }

    private Reply list(Call c) {
        cluster.requireNode(c.node());
        String content = c.param("content");
        List<Map<String, Object>> out = new ArrayList<>();
        for (EmulatedCluster.Storage s : cluster.storages()) {
            if (content != null && !s.content.contains(content)) {
                continue;
            }
            long used;
            long total;
            if (cluster.isReal()) {
                // the file system holding the state directory, as a dir/zfs storage reports its backing store
                try {
                    java.nio.file.FileStore fs = java.nio.file.Files.getFileStore(cluster.real().volumes.dir(s.id));
                    total = fs.getTotalSpace();
                    used = total - fs.getUsableSpace();
                } catch (java.io.IOException e) {
                    total = 0;
                    used = 0;
                }
            } else {
                used = s.volumes.values().stream().mapToLong(EmulatedCluster.Volume::size).sum();
                total = 500L << 30;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("storage", s.id);
            m.put("type", s.type);
            m.put("content", String.join(",", s.content.stream().sorted().toList()));
            m.put("enabled", 1);
            m.put("active", 1);
            m.put("shared", s.shared ? 1 : 0);
            m.put("total", total);
            m.put("used", used);
            m.put("avail", total - used);
            m.put("used_fraction", total == 0 ? 0.0 : (double) used / total);
            out.add(m);
        }
        return Reply.of(out);
    }

    private Reply content(Call c) {
        cluster.requireNode(c.node());
        EmulatedCluster.Storage s = cluster.storage(c.path("storage"));
        cluster.check("/storage/" + s.id, "Datastore.Audit");
        String content = c.param("content");
        String vmid = c.param("vmid");
        List<Map<String, Object>> out = new ArrayList<>();
        for (EmulatedCluster.Volume v : cluster.volumes(s.id)) {
            if ((content != null && !v.content().equals(content)) || (vmid != null && !Integer.toString(v.vmid()).equals(vmid))) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("volid", v.volid());
            m.put("content", v.content());
            m.put("format", v.format());
            m.put("size", v.size());
            m.put("ctime", ctime(s, v));
            if (v.vmid() > 0) {
                m.put("vmid", v.vmid());
            }
            if (!v.parent().isEmpty()) {
                m.put("parent", v.parent());
            }
            out.add(m);
        }
        return Reply.of(out);
    }

    private Reply deleteVolume(Call c) {
        cluster.requireNode(c.node());
        EmulatedCluster.Storage s = cluster.storage(c.path("storage"));
        cluster.check("/storage/" + s.id, "Datastore.Allocate");
        String volume = c.path("volume");
        String volid = volume.contains(":") ? volume : s.id + ":" + volume;
        EmulatedCluster.Volume v = cluster.findVolume(volid)
                .orElseThrow(() -> PveError.die("volume '" + volid + "' does not exist"));
        EmuTask task = cluster.tasks.fork(c.node(), "imgdel", v.vmid() > 0 ? v.vmid() + "@" + s.id : "", c.user(), t -> {
            work(t);
            if (cluster.isReal()) {
                if (s.hasPath()) {
                    java.nio.file.Files.deleteIfExists(cluster.real().volumes.file(s, volid));
                } else {
                    cluster.real().volumes.free(volid, cluster.volumes(s.id).stream().map(EmulatedCluster.Volume::volid).toList());
                }
            } else {
                s.volumes.remove(volid);
            }
            t.log("Removed volume '" + volid + "'");
        });
        return Reply.of(task.upid);
    }

    private Reply upload(Call c) throws java.io.IOException {
        cluster.requireNode(c.node());
        EmulatedCluster.Storage s = cluster.storage(c.path("storage"));
        cluster.check("/storage/" + s.id, "Datastore.AllocateTemplate");
        EmuRequest.FilePart file = c.request().files().get("filename");
        if (file == null) {
            throw PveError.die("missing temporary file name");
        }
        if (!s.hasPath()) {
            throw PveError.die("can't upload to storage type '" + s.type + "'");
        }
        String content = c.param("content");
        // PVE::Storage::normalize_content_filename: strip directories, replace unsafe characters
        String name = file.fileName().replaceAll(".*/", "").replaceAll("[^A-Za-z0-9_.\\-]", "_");
        if (!content.equals("vztmpl") && !content.equals("iso") && !content.equals("import")) {
            throw PveError.param("content", "upload content type '" + content + "' not allowed");
        }
        if (content.equals("vztmpl") && !VZTMPL_EXT.matcher(name).matches()) {
            throw PveError.param("filename", "wrong file extension");
        }
        if (!s.content.contains(content)) {
            throw PveError.die("storage '" + s.id + "' does not support '" + content + "' content");
        }
        String algorithm = c.param("checksum-algorithm");
        String expected = c.param("checksum");
        String volid = s.id + ":" + content + "/" + name;
        // the worker owns the uploaded data from here on (a spooled file is moved out of the front's way)
        java.nio.file.Path upload = null;
        if (file.spooled() != null) {
            upload = file.spooled().resolveSibling(file.spooled().getFileName() + ".task");
            java.nio.file.Files.move(file.spooled(), upload);
        }
        java.nio.file.Path spooled = upload;
        EmuTask task = cluster.tasks.fork(c.node(), "imgcopy", "", c.user(), t -> {
            try {
                importUpload(t, c.node(), s, content, name, volid, file, spooled, algorithm, expected);
            } finally {
                if (spooled != null) {
                    java.nio.file.Files.deleteIfExists(spooled);
                }
            }
        });
        return Reply.of(task.upid);
    }

    private void importUpload(EmuTask t, String node, EmulatedCluster.Storage s, String content, String name, String volid,
                              EmuRequest.FilePart file, java.nio.file.Path spooled, String algorithm, String expected)
            throws java.io.IOException {
        t.log("starting file import from: " + (spooled != null ? spooled.toString()
                : "/var/tmp/pveupload-" + HexFormat.of().formatHex(sha("md5", name.getBytes()))));
        work(t);
        long size = spooled != null ? java.nio.file.Files.size(spooled) : file.content().length;
        if (algorithm != null) {
            String got;
            try (java.io.InputStream in = spooled != null ? java.nio.file.Files.newInputStream(spooled) : file.open()) {
                got = HexFormat.of().formatHex(sha(algorithm, in));
            }
            if (!got.equalsIgnoreCase(expected)) {
                t.log("calculating checksum...");
                throw PveError.die("checksum mismatch: got '" + got + "' != expect '" + expected + "'");
            }
            t.log("calculating checksum...OK, checksum verified");
        }
        if (cluster.isReal()) {
            java.nio.file.Path target = cluster.real().volumes.contentDir(s, content).resolve(name);
            java.nio.file.Files.createDirectories(target.getParent());
            java.nio.file.Path tmp = target.resolveSibling("." + name + ".tmp." + t.pid);
            if (spooled != null) {
                java.nio.file.Files.move(spooled, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } else {
                java.nio.file.Files.write(tmp, file.content());
            }
            java.nio.file.Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } else {
            s.volumes.put(volid, new EmulatedCluster.Volume(volid, content, format(name), size, 0, ""));
        }
        t.log("target node: " + node);
        t.log("file size is: " + size);
    }

    private Reply ociPull(Call c) {
        cluster.requireNode(c.node());
        EmulatedCluster.Storage s = cluster.storage(c.path("storage"));
        cluster.check("/storage/" + s.id, "Datastore.AllocateTemplate");
        cluster.check("/nodes/" + c.node(), "Sys.AccessNetwork");
        String reference = c.param("reference");
        if (cluster.isReal()) {
            // creating CTs from OCI archives is not emulated: answer as a node without skopeo does
            throw PveError.die("Install 'skopeo' to pull OCI images from registries.");
        }
        if (!OCI_REFERENCE.matcher(reference).matches()) {
            throw PveError.param("reference", "value does not match the regex pattern");
        }
        String base = c.param("filename", reference.replaceAll(".*/", ""));
        String name = base.replace(':', '_').replaceAll("[^A-Za-z0-9_.\\-]", "_") + ".tar";
        String volid = s.id + ":vztmpl/" + name;
        if (s.volumes.containsKey(volid)) {
            throw PveError.die("refusing to override existing file '" + name + "'");
        }
        EmuTask task = cluster.tasks.fork(c.node(), "ociregistrypull", "", c.user(), t -> {
            t.log("Getting image source signatures");
            work(t);
            s.volumes.put(volid, new EmulatedCluster.Volume(volid, "vztmpl", "tar", 30L << 20, 0, ""));
            t.log("Writing manifest to image destination");
        });
        return Reply.of(task.upid);
    }

    private long ctime(EmulatedCluster.Storage s, EmulatedCluster.Volume v) {
        if (!cluster.isReal()) {
            return 1_760_000_000L;
        }
        try {
            java.nio.file.Path p = s.hasPath() ? cluster.real().volumes.file(s, v.volid())
                    : cluster.real().volumes.path(cluster.real().volumes.subvol(v.volid()));
            return java.nio.file.Files.getLastModifiedTime(p).toMillis() / 1000;
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }

    static String format(String name) {
        if (name.endsWith(".tar.zst")) {
            return "tzst";
        }
        if (name.endsWith(".tar.gz")) {
            return "tgz";
        }
        if (name.endsWith(".tar.xz")) {
            return "txz";
        }
        if (name.endsWith(".tar.bz2")) {
            return "tbz2";
        }
        return name.endsWith(".tar") ? "tar" : "raw";
    }

    private static byte[] sha(String algorithm, byte[] data) {
        try {
            return sha(algorithm, new java.io.ByteArrayInputStream(data));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] sha(String algorithm, java.io.InputStream data) throws java.io.IOException {
        String jca = switch (algorithm.toLowerCase(Locale.ROOT)) {
            case "md5" -> "MD5";
            case "sha1" -> "SHA-1";
            case "sha224" -> "SHA-224";
            case "sha256" -> "SHA-256";
            case "sha384" -> "SHA-384";
            case "sha512" -> "SHA-512";
            default -> throw PveError.param("checksum-algorithm", "value '" + algorithm + "' does not have a value in the enumeration 'md5, sha1, sha224, sha256, sha384, sha512'");
        };
        try {
            MessageDigest md = MessageDigest.getInstance(jca);
            byte[] buf = new byte[1 << 16];
            for (int n; (n = data.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void work(EmuTask t) {
        try {
            Thread.sleep(faults.taskDuration(t.type).orElse(config.taskDuration()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PveError.die("received interrupt");
        }
        faults.taskFailure(t.type).ifPresent(msg -> {
            throw PveError.die(msg);
        });
    }
}
