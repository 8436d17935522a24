pub struct Annotation; pub struct VisPolicy;
