// stream_support.hpp - FIFOs fed by a thread, for the tests that a reader
// treats a stream (a pipe, a device) as a stream: it reads what the header
// declares and stops, it never waits for an end that does not come.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace kreg::test {

// A FIFO at `path` and a thread that opens it for writing and writes
// `bytes`, then (with `endless`) `tail` again and again until the reader
// closes its end. The destructor waits for the thread; if the reader never
// opened the FIFO, it opens it itself so that the writer can finish.
class FedFifo {
 public:
  FedFifo(std::string path, std::string bytes, std::string tail = {}, bool endless = false)
      : path_(std::move(path)) {
    std::signal(SIGPIPE, SIG_IGN);  // a closed reader gives EPIPE, not death
    ::unlink(path_.c_str());
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    writer_ = std::thread([this, bytes = std::move(bytes), tail = std::move(tail), endless] {
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return;
      const auto put = [fd](const std::string& s) {
        std::size_t done = 0;
        while (done < s.size()) {
          const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
          if (n <= 0) return false;
          done += static_cast<std::size_t>(n);
        }
        return true;
      };
      bool open = put(bytes);
      while (open && endless) open = put(tail);
      ::close(fd);
    });
  }
  FedFifo(const FedFifo&) = delete;
  FedFifo& operator=(const FedFifo&) = delete;
  ~FedFifo() {
    // Unblock a writer still waiting for a reader, then drain nothing: its
    // next write fails with EPIPE once this end closes.
    const int fd = ::open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    writer_.join();
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::thread writer_;
};

}  // namespace kreg::test
