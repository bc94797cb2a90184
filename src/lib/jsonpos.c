#include "jsonpos.h"

#include <stdbool.h>
#include <string.h>

struct scanner {
	const char *s;
	size_t len, pos;
};

static void skip_ws(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

/* At an opening quote: advance past the string; report whether it equals key
 * (simple escapes decoded; \u escapes compared literally, which only costs an exact match). */
static bool scan_string(struct scanner *sc, const char *key)
{
	size_t k = 0;
	bool match = key != NULL;

	sc->pos++; /* opening quote */
	while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
		char c = sc->s[sc->pos++];
		if (c == '\\' && sc->pos < sc->len) {
			char e = sc->s[sc->pos++];
			switch (e) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'u': c = '\0'; match = false; sc->pos += 4; break;
			default: c = e; break;
			}
		}
		if (match && key[k] == c)
			k++;
		else
			match = false;
	}
	sc->pos++; /* closing quote */
	return match && key[k] == '\0';
}

static void skip_value(struct scanner *sc)
{
	int depth = 0;

	skip_ws(sc);
	do {
		if (sc->pos >= sc->len)
			return;
		char c = sc->s[sc->pos];
		if (c == '"') {
			scan_string(sc, NULL);
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		else if (depth == 0) {
			/* scalar: runs until a delimiter */
			while (sc->pos < sc->len && !strchr(",}] \t\r\n", sc->s[sc->pos]))
				sc->pos++;
			return;
		}
		sc->pos++;
	} while (depth > 0);
}

/* Positions the scanner at the value of `key` in the object at sc->pos. */
static bool enter_key(struct scanner *sc, const char *key)
{
	skip_ws(sc);
	if (sc->pos >= sc->len || sc->s[sc->pos] != '{')
		return false;
	sc->pos++;
	for (;;) {
		bool found;
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
			return false;
		found = scan_string(sc, key);
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
			return false;
		sc->pos++;
		skip_ws(sc);
		if (found)
			return true;
		skip_value(sc);
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
			return false;
		sc->pos++;
	}
}

static bool enter_index(struct scanner *sc, size_t index)
{
	skip_ws(sc);
	if (sc->pos >= sc->len || sc->s[sc->pos] != '[')
		return false;
	sc->pos++;
	for (size_t i = 0;; i++) {
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] == ']')
			return false;
		if (i == index)
			return true;
		skip_value(sc);
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
			return false;
		sc->pos++;
	}
}

static void position_of(const char *s, size_t pos, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < pos; i++) {
		if (s[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)s[i] & 0xC0) != 0x80) {
			c++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	*line = l;
	*col = c;
}

int husk_json_locate(const char *text, size_t len, const struct husk_json_step *path, size_t depth,
		     int *line, int *col)
{
	struct scanner sc = {text, len, 0};
	size_t good = 0;
	int rc = 0;

	skip_ws(&sc);
	for (size_t i = 0; i < depth; i++) {
		struct scanner probe = sc;
		bool ok = path[i].key ? enter_key(&probe, path[i].key) : enter_index(&probe, path[i].index);
		if (!ok) {
			rc = -1;
			break;
		}
		sc = probe;
		good = sc.pos;
	}
	position_of(text, rc == 0 ? sc.pos : good, line, col);
	return rc;
}
