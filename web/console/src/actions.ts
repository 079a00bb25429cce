// How a page calls the API: busy while it runs, the problem kept for the form (each field's
// message next to its field), and a Chinese message for what names no field.
import { ElMessage } from "element-plus";
import { ref } from "vue";
import { ApiProblem } from "@roadbranch/api";

export function useAction() {
  const busy = ref(false);
  const problem = ref<ApiProblem | null>(null);

  async function run<T>(work: () => Promise<T>, done?: string): Promise<T | undefined> {
    busy.value = true;
    problem.value = null;
    try {
      const result = await work();
      if (done) ElMessage.success(done);
      return result;
    } catch (error) {
      const found = error instanceof ApiProblem ? error : new ApiProblem(0, "client", String(error));
      problem.value = found;
      if (Object.keys(found.byField).length === 0) ElMessage.error(found.message);
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  /** The message for one field of the form, for `<el-form-item :error="fieldError('x')">`. */
  function fieldError(name: string): string {
    return problem.value?.byField[name] ?? "";
  }

  return { busy, problem, run, fieldError };
}
