package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import okhttp3.MediaType;
import okhttp3.MultipartBody;
import okhttp3.RequestBody;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Storage calls on one node ({@code /nodes/{node}/storage…}). */
public final class StorageApi {

    private static final MediaType OCTETS = MediaType.get("application/octet-stream");

    /**
     * A checksum PVE verifies after an upload (the task fails on mismatch).
     *
     * @param algorithm {@code md5}, {@code sha1}, {@code sha224}, {@code sha256}, {@code sha384} or {@code sha512}
     * @param value     hex digest
     */
    public record Checksum(String algorithm, String value) {
        public Checksum {
            if (!List.of("md5", "sha1", "sha224", "sha256", "sha384", "sha512").contains(algorithm)) {
                throw new IllegalArgumentException("algorithm: not a PVE checksum algorithm: " + algorithm);
            }
            if (!value.matches("[0-9a-fA-F]+")) {
                throw new IllegalArgumentException("value: not a hex digest");
            }
        }
    }

    private final PveHttp http;
    private final String node;

    StorageApi(PveHttp http, String node) {
        this.http = http;
        this.node = Objects.requireNonNull(node, "node");
    }

    /** {@code GET /nodes/{node}/storage}: storages the token may see. */
    public List<StorageInfo> list() {
        return list(PveParams.of());
    }

    /** Storages that accept {@code content} (e.g. {@code vztmpl}, {@code rootdir}) and are enabled. */
    public List<StorageInfo> listFor(String content) {
        return list(PveParams.of().with("content", content).with("enabled", true));
    }

    private List<StorageInfo> list(PveParams query) {
        JsonNode data = http.get(ApiPath.of("/nodes/{node}/storage", node), query);
        List<StorageInfo> out = new ArrayList<>();
        for (JsonNode n : data) {
            out.add(StorageInfo.from(n));
        }
        return List.copyOf(out);
    }

    /** {@code GET /nodes/{node}/storage/{storage}/content[?content=]}; {@code content} may be empty for all. */
    public List<StorageVolume> content(String storage, String content) {
        PveParams q = content.isEmpty() ? PveParams.of() : PveParams.of().with("content", content);
        JsonNode data = http.get(ApiPath.of("/nodes/{node}/storage/{storage}/content", node, storage), q);
        List<StorageVolume> out = new ArrayList<>();
        for (JsonNode n : data) {
            out.add(StorageVolume.from(n));
        }
        return List.copyOf(out);
    }

    /**
     * {@code POST /nodes/{node}/storage/{storage}/upload} (multipart; task {@code imgcopy}). Parts go in
     * the order PVE's streaming parser needs: {@code content}, {@code checksum-algorithm}, {@code checksum},
     * then the file in the part named {@code filename}. Container templates must end in {@code .tar},
     * {@code .tar.gz|xz|zst|bz2}; an existing file of that name is overwritten.
     *
     * @param content    {@code vztmpl} (or {@code iso}, {@code import})
     * @param file       local file to send
     * @param targetName file name on the storage (PVE replaces characters outside {@code [A-Za-z0-9_.-]})
     */
    public Upid upload(String storage, String content, Path file, String targetName, Optional<Checksum> checksum) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("file: not a regular file: " + file);
        }
        MultipartBody.Builder body = new MultipartBody.Builder().setType(MultipartBody.FORM)
                .addFormDataPart("content", content);
        checksum.ifPresent(c -> body.addFormDataPart("checksum-algorithm", c.algorithm()).addFormDataPart("checksum", c.value()));
        body.addFormDataPart("filename", targetName, RequestBody.create(file.toFile(), OCTETS));
        return LxcApi.upid(http.postUpload(ApiPath.of("/nodes/{node}/storage/{storage}/upload", node, storage), body.build()));
    }

    /**
     * {@code DELETE /nodes/{node}/storage/{storage}/content/{volume}} (task {@code imgdel}).
     *
     * @return the task, or empty if PVE finished synchronously
     */
    public Optional<Upid> deleteVolume(String storage, String volid) {
        JsonNode data = http.delete(ApiPath.of("/nodes/{node}/storage/{storage}/content/{volume}", node, storage, volid),
                PveParams.of());
        return data.isNull() ? Optional.empty() : Optional.of(LxcApi.upid(data));
    }

    /**
     * {@code POST /nodes/{node}/storage/{storage}/oci-registry-pull} (PVE 9.1+, task {@code ociregistrypull}):
     * the node pulls {@code reference} (must carry a tag, not only a digest) with skopeo into
     * {@code <storage>:vztmpl/<name>.tar}. Needs Sys.AccessNetwork on {@code /nodes/{node}}. Older nodes
     * answer 501 ({@link PveException.ApiError}).
     *
     * @param filename custom target name (PVE normalizes it and appends {@code .tar}), or empty
     */
    public Upid pullOciImage(String storage, String reference, Optional<String> filename) {
        PveParams p = PveParams.of().with("reference", reference);
        if (filename.isPresent()) {
            p = p.with("filename", filename.get());
        }
        return LxcApi.upid(http.post(ApiPath.of("/nodes/{node}/storage/{storage}/oci-registry-pull", node, storage), p));
    }
}
