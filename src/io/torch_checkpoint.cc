#include "io/torch_checkpoint.h"

#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/check.h"
#include "io/mmap_file.h"

namespace xclip::io {

namespace {

// ---------------------------------------------------------------------------------------
// Zip (stored entries only, zip64 aware). Every size and offset is checked against the file.

struct ZipEntry {
  std::uint64_t offset = 0;  // of the data
  std::uint64_t size = 0;
};

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) { return static_cast<std::uint32_t>(u16(p)) | (static_cast<std::uint32_t>(u16(p + 2)) << 16); }
std::uint64_t u64(const std::uint8_t* p) { return static_cast<std::uint64_t>(u32(p)) | (static_cast<std::uint64_t>(u32(p + 4)) << 32); }

std::map<std::string, ZipEntry> read_zip(const MappedFile& file) {
  const std::string& path = file.path();
  const std::uint8_t* data = file.data();
  const std::uint64_t size = file.size();
  XCLIP_CHECK(size >= 22, FormatError) << path << ": too short for a PyTorch zip checkpoint";
  // End of central directory: the last signature within the final 64 KiB + 22 bytes.
  std::int64_t eocd = -1;
  const std::uint64_t lowest = size > 65557 ? size - 65557 : 0;
  for (std::uint64_t p = size - 22 + 1; p-- > lowest;) {
    if (u32(data + p) == 0x06054b50) {
      eocd = static_cast<std::int64_t>(p);
      break;
    }
  }
  XCLIP_CHECK(eocd >= 0, FormatError) << path << ": not a zip archive (no end-of-central-directory record); "
                                      << "truncated, or a legacy (pre-1.6) torch file, which is not supported";
  std::uint64_t entries = u16(data + eocd + 10);
  std::uint64_t cd_size = u32(data + eocd + 12);
  std::uint64_t cd_offset = u32(data + eocd + 16);
  if (entries == 0xffff || cd_offset == 0xffffffffu || cd_size == 0xffffffffu) {
    XCLIP_CHECK(eocd >= 20 && u32(data + eocd - 20) == 0x07064b50, FormatError) << path << ": zip64 locator missing";
    const std::uint64_t z64 = u64(data + eocd - 20 + 8);
    XCLIP_CHECK(z64 + 56 <= size && u32(data + z64) == 0x06064b50, FormatError) << path << ": zip64 record out of range";
    entries = u64(data + z64 + 32);
    cd_size = u64(data + z64 + 40);
    cd_offset = u64(data + z64 + 48);
  }
  XCLIP_CHECK(cd_offset <= size && cd_size <= size - cd_offset, FormatError)
      << path << ": central directory [" << cd_offset << ", +" << cd_size << ") is outside the file";
  XCLIP_CHECK(entries <= cd_size / 46, FormatError) << path << ": " << entries << " entries cannot fit the central directory";
  std::map<std::string, ZipEntry> out;
  std::uint64_t p = cd_offset;
  for (std::uint64_t i = 0; i < entries; ++i) {
    XCLIP_CHECK(p + 46 <= cd_offset + cd_size && u32(data + p) == 0x02014b50, FormatError)
        << path << ": corrupt central directory entry " << i;
    const std::uint16_t method = u16(data + p + 10);
    std::uint64_t csize = u32(data + p + 20), usize = u32(data + p + 24);
    const std::uint16_t name_len = u16(data + p + 28), extra_len = u16(data + p + 30), comment_len = u16(data + p + 32);
    std::uint64_t local = u32(data + p + 42);
    const std::uint64_t next = p + 46 + name_len + extra_len + comment_len;
    XCLIP_CHECK(next <= cd_offset + cd_size, FormatError) << path << ": central directory entry " << i << " overruns";
    const std::string name(reinterpret_cast<const char*>(data + p + 46), name_len);
    // zip64 extra field: the 0xffffffff fields, in order usize, csize, offset.
    for (std::uint64_t e = p + 46 + name_len; e + 4 <= p + 46 + name_len + extra_len;) {
      const std::uint16_t id = u16(data + e), len = u16(data + e + 2);
      XCLIP_CHECK(e + 4 + len <= p + 46 + name_len + extra_len, FormatError) << path << ": bad extra field in " << name;
      if (id == 0x0001) {
        std::uint64_t q = e + 4;
        auto take = [&](std::uint64_t& field) {
          if (field != 0xffffffffu) return;
          XCLIP_CHECK(q + 8 <= e + 4 + len, FormatError) << path << ": short zip64 field in " << name;
          field = u64(data + q);
          q += 8;
        };
        take(usize);
        take(csize);
        take(local);
      }
      e += 4 + len;
    }
    XCLIP_CHECK(method == 0 && csize == usize, UnsupportedError)
        << path << ": entry " << name << " is compressed (method " << method << "); torch.save stores entries uncompressed";
    XCLIP_CHECK(local + 30 <= size && u32(data + local) == 0x04034b50, FormatError)
        << path << ": local header of " << name << " is missing or out of range";
    const std::uint64_t start = local + 30 + u16(data + local + 26) + u16(data + local + 28);
    XCLIP_CHECK(start <= size && usize <= size - start, FormatError)
        << path << ": data of " << name << " [" << start << ", +" << usize << ") is outside the file (truncated?)";
    XCLIP_CHECK(out.emplace(name, ZipEntry{start, usize}).second, FormatError) << path << ": duplicate entry " << name;
    p = next;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Pickle subset.

struct Value;
using ValuePtr = std::shared_ptr<Value>;
using Dict = std::vector<std::pair<ValuePtr, ValuePtr>>;

struct Global {
  std::string name;  // "module name"
};
struct StorageRef {
  DType dtype;
  std::string key;
  std::int64_t numel = 0;
};
struct TensorRef {
  StorageRef storage;
  std::int64_t offset = 0;
  std::vector<std::int64_t> shape, stride;
};
struct Mark {};

struct Value {
  std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<ValuePtr> /*tuple or list*/,
               std::vector<std::pair<ValuePtr, ValuePtr>> /*dict*/, Global, StorageRef, TensorRef, Mark>
      v;
};

const std::map<std::string, DType>& storage_types() {
  static const std::map<std::string, DType> types = {
      {"torch FloatStorage", DType::F32}, {"torch HalfStorage", DType::F16},  {"torch BFloat16Storage", DType::BF16},
      {"torch DoubleStorage", DType::F64}, {"torch LongStorage", DType::I64}, {"torch IntStorage", DType::I32},
      {"torch ShortStorage", DType::I16},  {"torch CharStorage", DType::I8},  {"torch ByteStorage", DType::U8},
      {"torch BoolStorage", DType::Bool}};
  return types;
}

bool allowed_global(const std::string& name) {
  return name == "torch._utils _rebuild_tensor_v2" || name == "torch._utils _rebuild_parameter" ||
         name == "collections OrderedDict" || storage_types().count(name) != 0;
}

class Unpickler {
 public:
  Unpickler(const std::uint8_t* data, std::size_t size, std::string path) : p_(data), end_(data + size), path_(std::move(path)) {}

  ValuePtr run() {
    while (true) {
      const std::uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;  // PROTO
        case 0x95: take(8); break;  // FRAME (protocol 4)
        case '}': push(dict()); break;  // EMPTY_DICT
        case ']': push(list()); break;  // EMPTY_LIST
        case ')': push(tuple({})); break;  // EMPTY_TUPLE
        case '(': push(make(Mark{})); break;
        case 'N': push(make(std::monostate{})); break;
        case 0x88: push(make(true)); break;
        case 0x89: push(make(false)); break;
        case 'K': push(make(static_cast<std::int64_t>(byte()))); break;  // BININT1
        case 'M': push(make(static_cast<std::int64_t>(u16(take(2))))); break;  // BININT2
        case 'J': push(make(static_cast<std::int64_t>(static_cast<std::int32_t>(u32(take(4)))))); break;  // BININT
        case 0x8a: push(make(long1())); break;  // LONG1
        case 'G': push(make(binfloat())); break;  // BINFLOAT
        case 'X': push(make(string_of(u32(take(4))))); break;  // BINUNICODE
        case 0x8c: push(make(string_of(byte()))); break;          // SHORT_BINUNICODE
        case 'c': push(global()); break;
        case 'q': memo_put(byte()); break;  // BINPUT
        case 'r': memo_put(u32(take(4))); break;  // LONG_BINPUT
        case 0x94: memo_put(static_cast<std::uint32_t>(memo_.size())); break;  // MEMOIZE
        case 'h': push(memo_get(byte())); break;  // BINGET
        case 'j': push(memo_get(u32(take(4)))); break;  // LONG_BINGET
        case 't': push(tuple(pop_to_mark())); break;
        case 0x85: push(tuple(pop_n(1))); break;
        case 0x86: push(tuple(pop_n(2))); break;
        case 0x87: push(tuple(pop_n(3))); break;
        case 'Q': push(persistent_load(pop())); break;  // BINPERSID
        case 'R': reduce(); break;
        case 'b': pop(); break;  // BUILD: state of an OrderedDict (_metadata) is ignored
        case 's': set_items(pop_n(2)); break;  // SETITEM
        case 'u': set_items(pop_to_mark()); break;  // SETITEMS
        case 'a': append(pop_n(1)); break;  // APPEND
        case 'e': append(pop_to_mark()); break;  // APPENDS
        case '.': return pop();  // STOP
        default:
          XCLIP_FAIL(FormatError) << path_ << ": pickle opcode 0x" << std::hex << static_cast<int>(op)
                                  << " is not part of a torch state dict (refusing to interpret it)";
      }
    }
  }

 private:
  static ValuePtr make(decltype(Value::v) v) {
    auto out = std::make_shared<Value>();
    out->v = std::move(v);
    return out;
  }
  static ValuePtr dict() { return make(std::vector<std::pair<ValuePtr, ValuePtr>>{}); }
  static ValuePtr list() { return make(std::vector<ValuePtr>{}); }
  static ValuePtr tuple(std::vector<ValuePtr> items) { return make(std::move(items)); }

  std::uint8_t byte() { return *take(1); }
  std::string string_of(std::uint64_t length) {
    const std::uint8_t* chars = take(length);
    return std::string(reinterpret_cast<const char*>(chars), static_cast<std::size_t>(length));
  }
  const std::uint8_t* take(std::uint64_t n) {
    XCLIP_CHECK(n <= static_cast<std::uint64_t>(end_ - p_), FormatError) << path_ << ": pickle data ends early (truncated)";
    const std::uint8_t* at = p_;
    p_ += n;
    return at;
  }
  std::int64_t long1() {
    const std::uint8_t n = byte();
    XCLIP_CHECK(n <= 8, FormatError) << path_ << ": integer of " << static_cast<int>(n) << " bytes is too large";
    const std::uint8_t* b = take(n);
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~std::uint64_t{0} << (8 * n);  // sign-extend
    return static_cast<std::int64_t>(v);
  }
  double binfloat() {
    const std::uint8_t* b = take(8);
    std::uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];  // big-endian
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  ValuePtr global() {
    auto line = [&]() {
      std::string s;
      while (true) {
        const char c = static_cast<char>(byte());
        if (c == '\n') return s;
        XCLIP_CHECK(s.size() < 256, FormatError) << path_ << ": malformed GLOBAL";
        s.push_back(c);
      }
    };
    const std::string module = line();
    const std::string name = module + " " + line();
    XCLIP_CHECK(allowed_global(name), FormatError)
        << path_ << ": pickle global '" << name << "' is not allowed (only tensor-rebuilding globals are accepted; "
        << "this file may try to run code)";
    return make(Global{name});
  }

  void push(ValuePtr v) {
    XCLIP_CHECK(stack_.size() < (1u << 24), FormatError) << path_ << ": pickle stack too deep";
    stack_.push_back(std::move(v));
  }
  ValuePtr pop() {
    XCLIP_CHECK(!stack_.empty() && !std::holds_alternative<Mark>(stack_.back()->v), FormatError)
        << path_ << ": pickle stack underflow";
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_n(std::size_t n) {
    XCLIP_CHECK(stack_.size() >= n, FormatError) << path_ << ": pickle stack underflow";
    std::vector<ValuePtr> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
    stack_.resize(stack_.size() - n);
    for (const ValuePtr& v : items) XCLIP_CHECK(!std::holds_alternative<Mark>(v->v), FormatError) << path_ << ": unexpected MARK";
    return items;
  }
  std::vector<ValuePtr> pop_to_mark() {
    std::size_t i = stack_.size();
    while (i > 0 && !std::holds_alternative<Mark>(stack_[i - 1]->v)) --i;
    XCLIP_CHECK(i > 0, FormatError) << path_ << ": pickle MARK missing";
    std::vector<ValuePtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(i), stack_.end());
    stack_.resize(i - 1);
    return items;
  }
  void memo_put(std::uint32_t index) {
    XCLIP_CHECK(index < (1u << 22), FormatError) << path_ << ": pickle memo index " << index << " is implausibly large";
    XCLIP_CHECK(!stack_.empty(), FormatError) << path_ << ": pickle memo put on an empty stack";
    memo_[index] = stack_.back();
  }
  ValuePtr memo_get(std::uint32_t index) {
    auto it = memo_.find(index);
    XCLIP_CHECK(it != memo_.end(), FormatError) << path_ << ": pickle memo entry " << index << " was never stored";
    return it->second;
  }

  static std::int64_t as_int(const ValuePtr& v, const std::string& what, const std::string& path) {
    XCLIP_CHECK(std::holds_alternative<std::int64_t>(v->v), FormatError) << path << ": " << what << " is not an integer";
    return std::get<std::int64_t>(v->v);
  }
  static const std::vector<ValuePtr>& as_tuple(const ValuePtr& v, const std::string& what, const std::string& path) {
    XCLIP_CHECK(std::holds_alternative<std::vector<ValuePtr>>(v->v), FormatError) << path << ": " << what << " is not a tuple";
    return std::get<std::vector<ValuePtr>>(v->v);
  }

  ValuePtr persistent_load(const ValuePtr& pid) {
    const auto& t = as_tuple(pid, "persistent id", path_);
    XCLIP_CHECK(t.size() == 5 && std::holds_alternative<std::string>(t[0]->v) && std::get<std::string>(t[0]->v) == "storage" &&
                    std::holds_alternative<Global>(t[1]->v) && std::holds_alternative<std::string>(t[2]->v),
                FormatError)
        << path_ << ": persistent id is not ('storage', type, key, location, numel)";
    const auto type = storage_types().find(std::get<Global>(t[1]->v).name);
    XCLIP_CHECK(type != storage_types().end(), FormatError) << path_ << ": unknown storage type " << std::get<Global>(t[1]->v).name;
    StorageRef s{type->second, std::get<std::string>(t[2]->v), as_int(t[4], "storage size", path_)};
    XCLIP_CHECK(s.numel >= 0, FormatError) << path_ << ": negative storage size";
    return make(s);
  }

  void reduce() {
    ValuePtr args = pop();
    ValuePtr callable = pop();
    XCLIP_CHECK(std::holds_alternative<Global>(callable->v), FormatError) << path_ << ": REDUCE of a non-global";
    const std::string& name = std::get<Global>(callable->v).name;
    const auto& a = as_tuple(args, "REDUCE arguments", path_);
    if (name == "collections OrderedDict") {
      push(dict());
    } else if (name == "torch._utils _rebuild_tensor_v2") {
      XCLIP_CHECK(a.size() >= 4 && std::holds_alternative<StorageRef>(a[0]->v), FormatError)
          << path_ << ": malformed _rebuild_tensor_v2 arguments";
      TensorRef t;
      t.storage = std::get<StorageRef>(a[0]->v);
      t.offset = as_int(a[1], "storage offset", path_);
      for (const ValuePtr& d : as_tuple(a[2], "size", path_)) t.shape.push_back(as_int(d, "size", path_));
      for (const ValuePtr& d : as_tuple(a[3], "stride", path_)) t.stride.push_back(as_int(d, "stride", path_));
      XCLIP_CHECK(t.shape.size() == t.stride.size() && t.shape.size() <= 8, FormatError) << path_ << ": size/stride mismatch";
      push(make(t));
    } else if (name == "torch._utils _rebuild_parameter") {
      XCLIP_CHECK(!a.empty() && std::holds_alternative<TensorRef>(a[0]->v), FormatError) << path_ << ": malformed parameter";
      push(a[0]);
    } else {
      XCLIP_FAIL(FormatError) << path_ << ": cannot call '" << name << "' while reading a state dict";
    }
  }

  void set_items(const std::vector<ValuePtr>& kv) {
    XCLIP_CHECK(kv.size() % 2 == 0, FormatError) << path_ << ": odd number of dict items";
    XCLIP_CHECK(!stack_.empty() && std::holds_alternative<Dict>(stack_.back()->v),
                FormatError)
        << path_ << ": SETITEMS on a non-dict";
    auto& d = std::get<Dict>(stack_.back()->v);
    for (std::size_t i = 0; i < kv.size(); i += 2) d.emplace_back(kv[i], kv[i + 1]);
  }
  void append(const std::vector<ValuePtr>& items) {
    XCLIP_CHECK(!stack_.empty() && std::holds_alternative<std::vector<ValuePtr>>(stack_.back()->v), FormatError)
        << path_ << ": APPEND on a non-list";
    auto& l = std::get<std::vector<ValuePtr>>(stack_.back()->v);
    l.insert(l.end(), items.begin(), items.end());
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  std::string path_;
  std::vector<ValuePtr> stack_;
  std::unordered_map<std::uint32_t, ValuePtr> memo_;
};

Tensor materialize(const TensorRef& t, const ZipEntry& storage, const std::shared_ptr<const MappedFile>& file,
                   const std::string& name) {
  const std::string& path = file->path();
  const std::size_t elem = dtype_size(t.storage.dtype);
  XCLIP_CHECK(static_cast<std::uint64_t>(t.storage.numel) * elem <= storage.size, FormatError)
      << path << ": storage of '" << name << "' declares " << t.storage.numel << " elements but holds " << storage.size / elem;
  std::int64_t numel = 1, extent = 0;
  for (std::size_t i = 0; i < t.shape.size(); ++i) {
    XCLIP_CHECK(t.shape[i] >= 0 && t.stride[i] >= 0 && t.shape[i] < (1ll << 40) && t.stride[i] < (1ll << 40), FormatError)
        << path << ": '" << name << "' has an invalid size or stride";
    numel *= t.shape[i];
    if (t.shape[i] > 0) extent += (t.shape[i] - 1) * t.stride[i];
  }
  XCLIP_CHECK(t.offset >= 0 && (numel == 0 || t.offset + extent < t.storage.numel), FormatError)
      << path << ": '" << name << "' (offset " << t.offset << ", shape " << shape_to_string(t.shape)
      << ") reaches past the end of its storage of " << t.storage.numel << " elements";
  const std::uint8_t* base = file->data() + storage.offset + static_cast<std::uint64_t>(t.offset) * elem;
  // Contiguous row-major views are used in place; anything else is gathered into a copy.
  bool contiguous = true;
  std::int64_t expected = 1;
  for (std::size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.stride[i] != expected) contiguous = false;
    expected *= t.shape[i];
  }
  if (contiguous) return Tensor::borrow(t.storage.dtype, t.shape, base, file);
  Tensor out = Tensor::empty(t.storage.dtype, t.shape);
  auto* dst = static_cast<std::uint8_t*>(out.mutable_raw());
  std::vector<std::int64_t> index(t.shape.size(), 0);
  for (std::int64_t k = 0; k < numel; ++k) {
    std::int64_t off = 0;
    for (std::size_t i = 0; i < index.size(); ++i) off += index[i] * t.stride[i];
    std::memcpy(dst + k * elem, base + off * elem, elem);
    for (std::size_t i = index.size(); i-- > 0;) {
      if (++index[i] < t.shape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

}  // namespace

std::map<std::string, Tensor> load_torch_checkpoint(const std::string& path) {
  const std::shared_ptr<const MappedFile> file = MappedFile::open(path);
  const std::map<std::string, ZipEntry> entries = read_zip(*file);
  std::string prefix;
  const ZipEntry* pickle = nullptr;
  for (const auto& [name, entry] : entries) {
    const std::string suffix = "/data.pkl";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      XCLIP_CHECK(pickle == nullptr, FormatError) << path << ": more than one data.pkl";
      pickle = &entry;
      prefix = name.substr(0, name.size() - suffix.size());
    }
  }
  XCLIP_CHECK(pickle != nullptr, FormatError) << path << ": no data.pkl in the archive (not a torch.save file)";
  Unpickler unpickler(file->data() + pickle->offset, pickle->size, path);
  const ValuePtr root = unpickler.run();
  XCLIP_CHECK(std::holds_alternative<Dict>(root->v), FormatError)
      << path << ": the pickled object is not a state dict";
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : std::get<Dict>(root->v)) {
    XCLIP_CHECK(std::holds_alternative<std::string>(k->v), FormatError) << path << ": state dict key is not a string";
    const std::string& name = std::get<std::string>(k->v);
    XCLIP_CHECK(std::holds_alternative<TensorRef>(v->v), FormatError) << path << ": '" << name << "' is not a tensor";
    const TensorRef& t = std::get<TensorRef>(v->v);
    auto storage = entries.find(prefix + "/data/" + t.storage.key);
    XCLIP_CHECK(storage != entries.end(), FormatError) << path << ": storage '" << t.storage.key << "' of '" << name << "' is missing";
    XCLIP_CHECK(out.emplace(name, materialize(t, storage->second, file, name)).second, FormatError)
        << path << ": '" << name << "' appears twice";
  }
  return out;
}

}  // namespace xclip::io
