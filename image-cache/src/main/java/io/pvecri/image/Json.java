package io.pvecri.image;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;

/** The one ObjectMapper of the module and strict parsing of untrusted documents. */
final class Json {

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(SerializationFeature.INDENT_OUTPUT)
            .build();

    private Json() {
    }

    /**
     * Parses an untrusted document whose size the caller has already bounded.
     *
     * @param what names the document for the error message, e.g. "manifest sha256:... in /x.tar"
     */
    static <T> T parse(byte[] bytes, Class<T> type, String what) throws InvalidImageException {
        return parse(bytes, MAPPER.constructType(type), what);
    }

    static <T> T parse(byte[] bytes, TypeReference<T> type, String what) throws InvalidImageException {
        return parse(bytes, MAPPER.getTypeFactory().constructType(type), what);
    }

    private static <T> T parse(byte[] bytes, com.fasterxml.jackson.databind.JavaType type, String what) throws InvalidImageException {
        if (bytes.length > Limits.MAX_JSON_BYTES) {
            throw tooBig(what, bytes.length);
        }
        try {
            T value = MAPPER.readValue(bytes, type);
            if (value == null) {
                throw new InvalidImageException(what + " is JSON null");
            }
            return value;
        } catch (JsonProcessingException e) {
            throw new InvalidImageException(what + " is not valid JSON of the expected shape: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new InvalidImageException(what + " could not be parsed: " + e.getMessage(), e);
        }
    }

    static InvalidImageException tooBig(String what, long size) {
        return new InvalidImageException(what + " is " + size + " bytes, more than the " + Limits.MAX_JSON_BYTES
                + " bytes allowed for image metadata");
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
        }
    }
}
