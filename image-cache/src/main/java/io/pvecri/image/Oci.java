package io.pvecri.image;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

import java.util.List;
import java.util.Map;

/** Jackson-bound shapes of the OCI image spec and Docker archive documents (only the fields used). */
final class Oci {

    static final String ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name";
    static final String ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name";

    private Oci() {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"mediaType", "digest", "size", "urls", "annotations", "platform"})
    record Descriptor(String mediaType, String digest, Long size, List<String> urls,
                      Map<String, String> annotations, Platform platform) {
        Descriptor(String mediaType, Digest digest, long size) {
            this(mediaType, digest.toString(), size, null, null, null);
        }

        String annotation(String key) {
            return annotations == null ? null : annotations.get(key);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Platform(String architecture, String os, String variant,
                    @JsonProperty("os.version") String osVersion) {
        @Override
        public String toString() {
            return os + "/" + architecture + (variant == null || variant.isEmpty() ? "" : "/" + variant);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Index(Integer schemaVersion, String mediaType, List<Descriptor> manifests,
                 Map<String, String> annotations) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"schemaVersion", "mediaType", "config", "layers", "annotations"})
    record Manifest(Integer schemaVersion, String mediaType, Descriptor config, List<Descriptor> layers,
                    Map<String, String> annotations) {
    }

    /** {@code oci-layout} marker file. */
    record LayoutMarker(String imageLayoutVersion) {
    }

    record ConfigFile(String architecture, String os, String variant, ContainerConfig config, RootFs rootfs) {
    }

    record RootFs(String type, @JsonProperty("diff_ids") List<String> diffIds) {
    }

    record ContainerConfig(
            @JsonProperty("User") String user,
            @JsonProperty("ExposedPorts") Map<String, Object> exposedPorts,
            @JsonProperty("Env") List<String> env,
            @JsonProperty("Entrypoint") List<String> entrypoint,
            @JsonProperty("Cmd") List<String> cmd,
            @JsonProperty("Volumes") Map<String, Object> volumes,
            @JsonProperty("WorkingDir") String workingDir,
            @JsonProperty("Labels") Map<String, String> labels,
            @JsonProperty("StopSignal") String stopSignal) {
    }

    /** One element of a docker-archive {@code manifest.json}. */
    record DockerArchiveEntry(
            @JsonProperty("Config") String config,
            @JsonProperty("RepoTags") List<String> repoTags,
            @JsonProperty("Layers") List<String> layers) {
    }
}
