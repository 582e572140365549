package io.pvecri.daemon.seccomp;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Localhost seccomp profiles (CRI {@code SecurityProfile.Localhost}): a JSON file on the node, read
 * when the container is created and compiled into the BPF program the init shim installs
 * (docs/seccomp.md). Later edits of the file do not change existing containers, as
 * with containerd, which copies the profile into the container's spec at create.
 */
public final class LocalhostProfile {
    /** Profiles are small (Docker's default is 20 KiB); anything far larger is a mistake. */
    static final long MAX_BYTES = 1 << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private LocalhostProfile() {}

    /**
     * Reads and compiles {@code file} for a container with capabilities {@code caps} ("CAP_CHOWN", ...).
     *
     * @throws SeccompProfileException naming the file and what is wrong with it
     */
    public static CompiledFilter compile(Path file, Set<String> caps) throws SeccompProfileException {
        if (!file.isAbsolute() || !file.normalize().equals(file)) {
            throw new SeccompProfileException("seccomp profile path '" + file + "' must be a clean absolute path");
        }
        byte[] body;
        try {
            if (!Files.isRegularFile(file)) {
                throw new SeccompProfileException("seccomp profile " + file + " does not exist or is not a regular file");
            }
            if (Files.size(file) > MAX_BYTES) {
                throw new SeccompProfileException("seccomp profile " + file + " is larger than " + MAX_BYTES + " bytes");
            }
            body = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SeccompProfileException("cannot read seccomp profile " + file + ": " + e.getMessage(), e);
        }
        ProfileJson.Profile profile;
        try {
            profile = JSON.readValue(body, ProfileJson.Profile.class);
        } catch (UnrecognizedPropertyException e) {
            throw new SeccompProfileException("seccomp profile " + file + ": unknown field '" + e.getPropertyName() + "'"
                    + at(e), e);
        } catch (MismatchedInputException e) {
            String what = e.getOriginalMessage().startsWith("Trailing token") ? " is not valid JSON: text follows the profile's object"
                    : ": a value of the wrong type" + at(e);
            throw new SeccompProfileException("seccomp profile " + file + what, e);
        } catch (JsonMappingException e) {
            throw new SeccompProfileException("seccomp profile " + file + ": " + e.getOriginalMessage() + at(e), e);
        } catch (JacksonException e) {
            throw new SeccompProfileException("seccomp profile " + file + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SeccompProfileException("cannot read seccomp profile " + file + ": " + e.getMessage(), e);
        }
        if (profile == null) {
            throw new SeccompProfileException("seccomp profile " + file + " is empty (null)");
        }
        int[] kernel = FilterCompiler.parseKernel(System.getProperty("os.version", ""));
        try {
            return new FilterCompiler(caps, kernel == null ? new int[] {0, 0} : kernel).compile(profile);
        } catch (SeccompProfileException e) {
            throw new SeccompProfileException("seccomp profile " + file + ": " + e.getMessage(), e);
        }
    }

    /** " at syscalls[2].args[0]" from Jackson's path, or "" at the top. */
    private static String at(JsonMappingException e) {
        String path = e.getPath().stream()
                .map(r -> r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining());
        int lastDot = path.lastIndexOf('.');
        if (e instanceof UnrecognizedPropertyException && lastDot >= 0) {
            path = path.substring(0, lastDot);
        }
        path = path.startsWith(".") ? path.substring(1) : path;
        return path.isEmpty() ? "" : " at " + path;
    }
}
