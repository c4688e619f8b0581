// tool/journal.hpp - an append-only JSON-lines file that a killed run cannot
// corrupt. A kreg tool internal: neither installed nor part of libkreg.
//
// Layout: line 1 is a header, every later line is one record. The caller gives
// each line as text without a newline (normally one JSON object); the journal
// stores it verbatim, followed by a tab and its checksum (16 lowercase hex
// digits of the FNV-1a 64-bit hash of the text), and never parses it. Record
// i (0-based) is line i + 2 of the file, which is the line number to quote
// when a record does not parse.
//
// Integrity: read_journal and append_to verify every complete line's checksum
// and hand back the text without it, so a number changed by hand or a line
// damaged on disk is refused (InputError with the path and line) instead of
// resuming silently into different results. A header without a checksum is
// named as a journal of an older kreg (whose journals had none). The
// checksum guards against accidents, not against someone who recomputes it.
//
// Durability contract: JournalWriter::append returns only after the line and
// its '\n' are on disk (one write(2) on an O_APPEND descriptor, then
// fdatasync). A process killed at any moment, SIGKILL included, leaves every
// record whose append returned intact and in order; at most the last line can
// be partial (no '\n'). read_journal drops such a tail and says so, and
// JournalWriter::append_to cuts it off before appending, so the next record
// starts on a line of its own.
//
// One writer per file: create and append_to take an exclusive flock(2) on the
// file, held until the writer is destroyed, so a second run appending to the
// same journal fails at once instead of interleaving with the first. The lock
// dies with the process, so a killed run never leaves the journal locked.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace kreg {

struct JournalContents {
  std::string header;                // line 1, without its '\n'
  std::vector<std::string> records;  // every complete later line, in file order
  bool truncated_tail = false;       // a final line without '\n' was dropped
};

// Reads the journal at `path` without locking it (a writer may be appending).
// Throws InputError naming the file when it cannot be read, is empty, has no
// complete non-empty header line, a complete line holds a NUL byte or its
// checksum is missing or wrong (a damaged or edited file); the message gives
// the line number.
JournalContents read_journal(const std::string& path);

// `text` as the journal stores it, without the newline: text, a tab and the
// checksum. For tools and tests that write a journal by hand.
std::string journal_line(std::string_view text);

class JournalWriter {
 public:
  // Creates a new journal whose first line is `header_line`, synced to disk
  // before returning. Throws ArgumentError when `path` already exists (a
  // journal is never overwritten) or the header is empty or holds a newline,
  // and InputError when the file cannot be created.
  static JournalWriter create(const std::string& path, std::string_view header_line);

  // Opens an existing journal for appending. Validates it like read_journal
  // (same errors) and, when its last line is partial, truncates the file back
  // to the end of the last complete line before returning.
  static JournalWriter append_to(const std::string& path);

  JournalWriter(JournalWriter&& other) noexcept;
  JournalWriter& operator=(JournalWriter&& other) noexcept;
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  ~JournalWriter();  // closes the file and releases the lock

  // Appends `line` + '\n' and syncs it to disk. Thread-safe: concurrent calls
  // are serialised, so lines never interleave. Throws ArgumentError when
  // `line` is empty or holds a '\n', or the writer was moved from; throws
  // kreg::Error when the write or sync fails (disk full, I/O error), after
  // cutting off any part of the line that reached the file.
  void append(std::string_view line);

  const std::string& path() const { return path_; }

 private:
  JournalWriter(int fd, std::string path, std::uint64_t size, std::int64_t lines);

  std::mutex mutex_;        // serialises append; not moved (a fresh one per object)
  int fd_ = -1;             // O_APPEND descriptor holding the flock, -1 when moved from
  std::string path_;        // for error messages
  std::uint64_t size_ = 0;  // bytes of complete lines: where a failed append is cut back to
  std::int64_t lines_ = 0;  // complete lines so far (header included), for messages
};

}  // namespace kreg
