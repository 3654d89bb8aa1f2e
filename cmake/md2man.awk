# md2man.awk: turns the manual pages' Markdown (docs/man/*.md) into man(7)
# troff, with nothing but a POSIX awk (Debian's mawk will do).  The pages
# use only this much Markdown:
#
#   # jpki-ca(1) -- what it is      the title: .TH and the NAME section
#   ## SECTION                      .SH SECTION
#   ### Subsection                  .SS Subsection
#   a blank line                    a new paragraph
#   * `--out` *DIR*:                a tagged paragraph (.TP); the text under
#     the option, indented            it is indented by two spaces
#   ```  ...  ```                   an example, printed as it is
#   `literal`  *placeholder*        bold, italic
#
# In the first paragraph of SYNOPSIS every line is a line of its own (the
# command forms and their indented continuations).  Everything is
# escaped for troff: backslashes, hyphens (so options copy as ASCII "-")
# and a leading dot or quote.
#
# usage: awk -f md2man.awk jpki-ca.1.md >jpki-ca.1

function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	return s
}

# *text* -> italic, in text already escaped.
function italics(s,    out) {
	out = ""
	while (match(s, /\*[^*]+\*/)) {
		out = out substr(s, 1, RSTART - 1) "\\fI" \
		    substr(s, RSTART + 1, RLENGTH - 2) "\\fR"
		s = substr(s, RSTART + RLENGTH)
	}
	return out s
}

# `code` -> bold, *text* -> italic, the rest escaped.  A code span may go
# on to the next line of its paragraph (code is global).
function inline(s,    out, i) {
	out = ""
	while ((i = index(s, "`")) > 0) {
		if (code)
			out = out "\\fB" esc(substr(s, 1, i - 1)) "\\fR"
		else
			out = out italics(esc(substr(s, 1, i - 1)))
		s = substr(s, i + 1)
		code = !code
	}
	out = out (code ? "\\fB" esc(s) "\\fR" : italics(esc(s)))
	if (out ~ /^[.']/)
		out = "\\&" out
	return out
}

function paragraph() {
	if (!in_para && !in_item) {
		print ".PP"
		in_para = 1
	}
}

BEGIN {
	code = 0
	command_lines = 0
	section = ""
	in_para = 0
	in_item = 0
	in_code = 0
}

in_code && /^```/ {
	print ".fi"
	print ".RE"
	in_code = 0
	next
}

in_code {
	line = esc($0)
	if (line ~ /^[.']/)
		line = "\\&" line
	print line
	next
}

/^```/ {
	print ".PP"
	print ".RS 4"
	print ".nf"
	in_code = 1
	in_para = 0
	in_item = 0
	next
}

/^# / {
	# "# jpki-ca(1) -- what it is"
	title = $2
	sub(/\(.*/, "", title)
	sect = $2
	sub(/^[^(]*\(/, "", sect)
	sub(/\).*/, "", sect)
	what = substr($0, index($0, " -- ") + 4)
	upper = toupper(title)
	print ".TH " esc(upper) " " sect " \"\" \"openjpki\" \"openjpki manual\""
	print ".SH NAME"
	print esc(title) " \\- " esc(what)
	next
}

/^## / {
	code = 0
	section = substr($0, 4)
	command_lines = section == "SYNOPSIS"
	print ".SH " esc(section)
	in_para = 0
	in_item = 0
	next
}

/^### / {
	code = 0
	print ".SS " esc(substr($0, 5))
	in_para = 0
	in_item = 0
	next
}

/^$/ {
	code = 0
	if (in_para)
		command_lines = 0
	in_para = 0
	in_item = 0
	next
}

/^\* / {
	code = 0
	item = substr($0, 3)
	sub(/:$/, "", item)
	print ".TP"
	print inline(item)
	in_item = 1
	in_para = 0
	next
}

/^  / && in_item {
	line = $0
	sub(/^ +/, "", line)
	print inline(line)
	next
}

{
	paragraph()
	print inline($0)
	if (command_lines)
		print ".br"
}
