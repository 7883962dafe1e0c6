// Shared-memory test helpers for the ShmStore tests: a MAP_SHARED region as apr_shm gives httpd,
// and forked children whose exit code says what they saw.
#pragma once

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fakes.h"
#include "platform/shm_store.h"

namespace coinpay::testing {

// A MAP_SHARED anonymous mapping, as apr_shm gives httpd: forked children see the same bytes.
class SharedMapping {
 public:
  explicit SharedMapping(size_t size) : size_(size) {
    base_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) {
      base_ = nullptr;
    }
  }
  ~SharedMapping() {
    if (base_ != nullptr) {
      munmap(base_, size_);
    }
  }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  void* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  void* base_;
  size_t size_;
};

// Runs `body` in a child process; the child's exit code is body's return value.
inline pid_t RunInChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    _exit(body());
  }
  return pid;
}

inline int WaitForExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

// A ShmStore in its own shared mapping, for the store's test fixtures.
class ShmStoreFixture : public ::testing::Test {
 protected:
  void MakeStore(size_t capacity, size_t entry_size, size_t value_bytes = 0) {
    mapping_ =
        std::make_unique<SharedMapping>(ShmStore::RegionSize(capacity, entry_size, value_bytes));
    ASSERT_NE(mapping_->base(), nullptr);
    auto store =
        ShmStore::Create(mapping_->base(), mapping_->size(), capacity, entry_size, value_bytes);
    ASSERT_TRUE(store.ok()) << store.error().detail;
    store_ = std::move(store.value());
  }

  std::optional<std::string> GetValue(std::string_view key, int64_t now) {
    auto got = store_->Get(key, now);
    EXPECT_TRUE(got.ok()) << got.error().detail;
    return ValueOf(got);
  }

  ShmStore::Stats GetStats() {
    auto stats = store_->GetStats();
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? stats.value() : ShmStore::Stats{};
  }

  void ExpectConsistent() {
    Status verified = store_->Verify();
    EXPECT_TRUE(verified.ok()) << verified.error().detail;
  }

  std::unique_ptr<SharedMapping> mapping_;
  std::unique_ptr<ShmStore> store_;
};

}  // namespace coinpay::testing
