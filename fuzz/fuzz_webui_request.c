/*
 * fuzz_webui_request.c: libFuzzer target for what the counter's web UI
 * reads from a request before any session is known: the Cookie header
 * (webui_cookie_session) and a static page's name (webui_static_name_ok).
 * The input, cut at the first NUL, is used as both.  Properties: a session
 * id found is 64 lowercase hex digits that occur in the header; a name
 * allowed has no "..", no leading '/' or '.', no "//", and a media type.
 */
#include "webui/webui.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[WEBUI_SESSION_ID_HEX + 1];
	const char *type;
	char *text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (webui_cookie_session(text, id)) {
		if (strlen(id) != WEBUI_SESSION_ID_HEX ||
		    strspn(id, "0123456789abcdef") != WEBUI_SESSION_ID_HEX ||
		    strstr(text, id) == NULL)
			abort();
	} else if (id[0] != '\0') {
		abort();
	}
	if (webui_static_name_ok(text, &type)) {
		if (type == NULL || strstr(text, "..") != NULL ||
		    strstr(text, "//") != NULL || text[0] == '/' ||
		    text[0] == '.' || strstr(text, "/.") != NULL)
			abort();
	}
	free(text);
	return 0;
}
